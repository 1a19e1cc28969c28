import { version } from "../package.json";

/**
 * The images the release workflow (.github/workflows/release.yml) publishes, and so the stack's defaults: one
 * registry prefix, one name per image, the tag is package.json's version. test/env/images.ts tags production builds
 * with exactly these, and a unit test keeps the workflow, the stack defaults and this module equal.
 */
export const IMAGE_REGISTRY_PREFIX = "ghcr.io/platform-secrets";
export const IMAGE_VERSION: string = version;

export const IMAGE_NAMES = {
    reconciler: `${IMAGE_REGISTRY_PREFIX}/reconciler`,
    tokengen: `${IMAGE_REGISTRY_PREFIX}/github-token-generator`,
} as const;

export type ImageKind = keyof typeof IMAGE_NAMES;

export const DEFAULT_RECONCILER_IMAGE = `${IMAGE_NAMES.reconciler}:${IMAGE_VERSION}`;
export const DEFAULT_TOKEN_GENERATOR_IMAGE = `${IMAGE_NAMES.tokengen}:${IMAGE_VERSION}`;
