/** Returns a WIT `request` record for the tests; `overrides` replace its fields. */
export function makeRequest(overrides = {}) {
  return {
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
}
