import type { RouteDefinition } from "../../http/route.js";
import { oidcRoutes } from "./oidc-routes.js";
import type { OidcDeps } from "./oidc-sign-in.js";
import { samlRoutes } from "./saml-routes.js";

/** Single sign-on: each organisation's OpenID Connect and SAML providers, their settings and sign-in routes. */
export function ssoRoutes(deps: OidcDeps): RouteDefinition[] {
  return [...oidcRoutes(deps), ...samlRoutes(deps)];
}
