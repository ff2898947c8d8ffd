const fakeHostUrl = new URL("./fake-host.js", import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier.startsWith("palisade:plugin/")) {
    return { url: fakeHostUrl, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
