// The greeting plugin's `sayHello` action in TypeScript, for the plugin benchmark: the same work
// as the Rust plugin, under the controller name `greetingJs` so both load on one server.
import { argString, definePlugin } from "@palisade/plugin-sdk";

export default definePlugin({
  manifest: { name: "greeting-js", version: "0.1.0" },

  controllers: {
    greetingJs: {
      sayHello: (request) => `Hello, ${argString(request, "name")}`,
    },
  },
});
