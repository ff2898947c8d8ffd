import { fromHost } from "../src/request.js";

/**
 * Returns a stand-in for the `request` resource the host lends to a call: the methods of the WIT
 * resource over fixed values. `overrides` replace its fields.
 */
export function hostRequest(overrides = {}) {
  const fields = {
    requestId: "req-1",
    controller: "greeting",
    action: "sayHello",
    args: "{}",
    body: undefined,
    volatile: undefined,
    user: { id: "alice", profileIds: ["default"] },
    protocol: "http",
    connectionId: "conn-1",
    ...overrides,
  };
  const reads = [];
  const lent = { reads };
  for (const [field, value] of Object.entries(fields)) {
    lent[field] = () => {
      reads.push(field);
      return value;
    };
  }
  lent.parts = () => {
    reads.push("parts");
    return { ...fields };
  };
  return lent;
}

/** Returns a request object as handlers receive it; `overrides` replace its fields. */
export function makeRequest(overrides = {}) {
  return fromHost(hostRequest(overrides));
}
