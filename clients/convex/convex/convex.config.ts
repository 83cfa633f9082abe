// The product's Convex app: installs the rtgw projection receiver component.
import { defineApp } from "convex/server";
import rtgwProjection from "./components/rtgwProjection/convex.config";

const app = defineApp();
app.use(rtgwProjection);

export default app;
