// Lets users read only the documents they created: a pipe on `generic:document:afterGet`, the
// event that carries the documents of `document:get`, `mGet` and `search`, rejects the request
// when any returned document has another author. Otherwise the pipe returns nothing, so the SDK
// passes the payload on byte for byte.
import { ApiError, definePlugin, type Request } from "@palisade/plugin-sdk";

/** A document as the `generic:document:afterGet` payload lists it. */
interface StoredDocument {
  _id: string;
  _source?: { _kuzzle_info?: { author?: string | null } };
}

function rejectForeignDocuments(documents: unknown, request: Request): void {
  // Fail closed: a payload of another shape would otherwise pass unchecked.
  if (!Array.isArray(documents)) {
    throw new ApiError(
      500,
      "plugin.runtime.unexpected_error",
      `owner-only expected an array of documents for generic:document:afterGet, got ${typeof documents}.`,
      [typeof documents],
    );
  }
  const userId = request.user.id;
  for (const document of documents as StoredDocument[]) {
    const author = document._source?._kuzzle_info?.author;
    if (author !== userId) {
      throw new ApiError(
        403,
        "security.rights.forbidden",
        `Forbidden: document "${document._id}" belongs to another user.`,
        [document._id],
      );
    }
  }
}

export default definePlugin({
  manifest: { name: "owner-only", version: "0.1.0" },
  pipes: {
    "generic:document:afterGet": (payload, request) => rejectForeignDocuments(payload, request),
  },
});
