import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import { ApiError } from "./api";
import { App } from "./App";
import { loadDashboardCharts } from "./pages/DashboardPage";
import "./styles.css";

const client = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      refetchOnWindowFocus: false,
      retry: (count, error) => !(error instanceof ApiError && error.status > 0 && error.status < 500) && count < 2,
    },
  },
});

// Opening on the dashboard (or the start page, which leads there once signed in), the charts'
// script is fetched now instead of after the session check. If that fails, the dashboard asks
// again when it opens and says so if it fails there too.
if (/^\/$|^\/orgs\/[^/]+(\/dashboard)?\/?$/.test(window.location.pathname))
  loadDashboardCharts().catch(() => null);

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={client}>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </QueryClientProvider>
    </StrictMode>,
  );
}
