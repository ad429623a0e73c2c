// autoscale-lab dashboard page: loads the chart layout helpers shared with the chart images
// (lib/plot/chart_layout.js, which the dashboard serves at /plot/chart_layout.js, so this path
// resolves the same on disk and in the browser) and hands them to app.js, a classic script, as
// `globalThis.chartLayout`. A module script runs before the deferred app.js.
import { labelRows, yDomainFor } from "../../plot/chart_layout.js";

globalThis.chartLayout = { labelRows, yDomainFor };
