/**
 * The provider implementations the serialized stubs (stub.ts) load in the dynamic-provider process, by kind.
 * Keep the keys stable: they are written into the state of every resource created so far.
 */
import { derivedSecretProvider } from "./derived-provider";
import { mirroredSecretProvider } from "./mirror-provider";
import { passwordPolicyGuardProvider } from "./password-policy-guard";
import type { ProviderKind } from "./stub";

export const PROVIDERS: Record<ProviderKind, object> = {
    derived: derivedSecretProvider,
    mirror: mirroredSecretProvider,
    guard: passwordPolicyGuardProvider,
};
