import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useContext } from "react";
import { ApiError, api, rememberCsrf } from "./api";
import type { Me } from "./types";

/** The signed-in person (or null), read from GET /api/v1/me; the CSRF token stays in memory. */
export function useMe() {
  return useQuery({
    queryKey: ["me"],
    queryFn: async (): Promise<Me | null> => {
      try {
        const me = await api<Me>("GET", "/api/v1/me");
        rememberCsrf(me.csrfToken);
        return me;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          rememberCsrf(null);
          return null;
        }
        throw error;
      }
    },
    staleTime: 60_000,
  });
}

export function useSignedIn() {
  const client = useQueryClient();
  return (me: Me) => {
    rememberCsrf(me.csrfToken);
    // Another person's cached pages must never show: a sign-in starts from an empty cache.
    client.clear();
    client.setQueryData(["me"], me);
  };
}

export interface OrgScope {
  orgId: string;
  name: string;
  role: string;
  /** Mirrors the server's permission matrix so the page hides what the role may not do. */
  can(action: string): boolean;
}

const OrgContext = createContext<OrgScope | null>(null);

export function OrgProvider({ value, children }: { value: OrgScope; children: ReactNode }) {
  return <OrgContext.Provider value={value}>{children}</OrgContext.Provider>;
}

export function useOrg(): OrgScope {
  const scope = useContext(OrgContext);
  if (!scope) throw new Error("useOrg outside an organisation page");
  return scope;
}
