import type { KeyObject } from "node:crypto";
import { SignJWT } from "jose";

/** GitHub rejects app JWTs that expire more than 10 minutes ahead of its clock. */
export const JWT_MAX_LIFETIME_SECONDS = 600;
/** Backdated so a GitHub clock slightly behind ours does not see a future iat. */
export const JWT_CLOCK_SKEW_SECONDS = 60;
/** Well inside the 10-minute ceiling even with the 60 s backdating counted. */
export const JWT_TTL_SECONDS = 540;

export interface AppJwtClaims {
    iss: string;
    iat: number;
    exp: number;
}

/** The claims for an app JWT signed at `nowMs`: iat 60 s back, exp 9 min ahead, iss the app id as a string. */
export function appJwtClaims(appId: string, nowMs: number): AppJwtClaims {
    const now = Math.floor(nowMs / 1000);
    return { iss: appId, iat: now - JWT_CLOCK_SKEW_SECONDS, exp: now + JWT_TTL_SECONDS };
}

/** RS256-signed app JWT. The result is a credential: callers pass it in a header and never log it. */
export async function signAppJwt(key: KeyObject, appId: string, nowMs: number): Promise<string> {
    const c = appJwtClaims(appId, nowMs);
    return new SignJWT({})
        .setProtectedHeader({ alg: "RS256", typ: "JWT" })
        .setIssuer(c.iss)
        .setIssuedAt(c.iat)
        .setExpirationTime(c.exp)
        .sign(key);
}
