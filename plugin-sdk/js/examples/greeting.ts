// A small plugin: a `greeting:sayHello` action, a pipe that stamps new documents with their
// creation day and a hook that logs deletions.
import { ApiError, argString, definePlugin, documents, log, nowMs, reply } from "@palisade/plugin-sdk";

export default definePlugin({
  manifest: { name: "greeting", version: "0.1.0" },

  init(config) {
    if (config.language !== undefined && typeof config.language !== "string") {
      throw new ApiError(400, "plugin.greeting.invalid_setting", 'The setting "language" must be a string.', [
        "language",
      ]);
    }
  },

  controllers: {
    greeting: {
      // GET /_/greeting/say-hello?name=Ada, and the extra route GET /_/greeting/hello/Ada.
      sayHello: {
        http: [{ verb: "GET", path: "hello/:name" }],
        handler: (request) => ({ message: `Hello, ${argString(request, "name")}!` }),
      },
      // Stores a greeting with the caller's rights, so the security layer applies as for a client.
      save: (request) => {
        const name = argString(request, "name");
        const saved = documents.create("greetings", "sent", { name }, { onBehalfOf: request });
        return reply({ _id: saved._id }, { status: 201 });
      },
    },
  },

  pipes: {
    "document:beforeCreate": (payload) => ({
      ...payload,
      body: { ...payload.body, createdOn: new Date(nowMs()).toISOString().slice(0, 10) },
    }),
  },

  hooks: {
    "document:afterDelete": (payload, request) => {
      log.info(`user ${request.user.id} deleted ${JSON.stringify(payload)}`);
    },
  },
});
