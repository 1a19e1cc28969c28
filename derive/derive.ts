import { canonicalJson, sourceHash } from "./canonical";
import {
    ANNOTATION_DERIVATION_VERSION,
    ANNOTATION_FORMAT,
    ANNOTATION_OPTIONS,
    ANNOTATION_SOURCE_HASH,
    ANNOTATION_SOURCE_NAME,
    ANNOTATION_SOURCE_NAMESPACE,
    DERIVATION_VERSION,
    LABEL_DERIVED,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    MAX_SECRET_BYTES,
} from "./constants";
import { DerivationError } from "./errors";
import { deriveArgoCd } from "./formats/argocd";
import { deriveDocker } from "./formats/docker";
import { deriveKargo } from "./formats/kargo";
import { deriveMirror } from "./formats/mirror";
import { deriveTektonGit } from "./formats/tekton";
import { SourceReader, objectKey } from "./source";
import { DesiredSecret, FormatOutput, Recipe, SecretLike } from "./types";
import { validateRecipe } from "./recipe";

function formatOutput(src: SourceReader, recipe: Recipe): FormatOutput {
    const target = objectKey(recipe.target);
    switch (recipe.format) {
        case "tekton-git":
            return deriveTektonGit(src, recipe.options, target);
        case "docker":
            return deriveDocker(src, recipe.options);
        case "kargo":
            return deriveKargo(src, recipe.options);
        case "argocd":
            return deriveArgoCd(src, recipe.options, target);
        case "mirror":
            return deriveMirror(src);
        default: {
            const never: never = recipe;
            throw new Error(`unreachable format ${String((never as Recipe).format)}`);
        }
    }
}

/** Rough wire size: what the apiserver stores is dominated by data and metadata strings. */
function approximateSize(s: DesiredSecret): number {
    let n = 512 + s.type.length + s.metadata.name.length + s.metadata.namespace.length;
    for (const [k, v] of Object.entries(s.data)) n += k.length + v.length + 8;
    for (const m of [s.metadata.labels, s.metadata.annotations]) for (const [k, v] of Object.entries(m)) n += k.length + v.length + 8;
    return n;
}

/**
 * The desired derived secret for `recipe` given the live `source`. Pure and deterministic; throws
 * DerivationError (never carrying a value) when the source or recipe is unusable.
 */
export function deriveSecret(source: SecretLike, recipeInput: Recipe): DesiredSecret {
    const recipe = validateRecipe(recipeInput);
    const src = new SourceReader(source);
    const expected = objectKey(recipe.source);
    if (src.object !== expected) {
        throw new DerivationError({ object: src.object, code: "invalid-recipe", problem: `the recipe of ${objectKey(recipe.target)} names source ${expected}`, fix: "pass the source secret the recipe names" });
    }
    const out = formatOutput(src, recipe);
    const desired: DesiredSecret = {
        metadata: {
            namespace: recipe.target.namespace,
            name: recipe.target.name,
            labels: { ...out.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [LABEL_DERIVED]: "true" },
            annotations: {
                ...out.annotations,
                [ANNOTATION_SOURCE_NAMESPACE]: recipe.source.namespace,
                [ANNOTATION_SOURCE_NAME]: recipe.source.name,
                [ANNOTATION_FORMAT]: recipe.format,
                [ANNOTATION_OPTIONS]: canonicalJson(recipe.options ?? {}),
                [ANNOTATION_SOURCE_HASH]: sourceHash(src.type, source.data ?? {}, out.consumedKeys),
                [ANNOTATION_DERIVATION_VERSION]: DERIVATION_VERSION,
            },
        },
        type: out.type,
        data: out.data,
    };
    if (approximateSize(desired) >= MAX_SECRET_BYTES) {
        throw new DerivationError({ object: objectKey(recipe.target), code: "too-large", problem: "the derived secret would exceed 1 MiB", fix: `shrink the values of source ${expected}` });
    }
    return desired;
}
