// The app's HTTP routes: POST /rtgw/projection receives the gateway's signed
// ProjectionUpdates (https://<deployment>.convex.site/rtgw/projection).
import { httpRouter } from "convex/server";
import { components } from "./_generated/api";
import { registerRoutes } from "./components/rtgwProjection/client";

const http = httpRouter();
registerRoutes(http, components.rtgwProjection);

export default http;
