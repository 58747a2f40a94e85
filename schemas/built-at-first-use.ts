/**
 * A value built at its first call and kept for the execution environment's life: what a module
 * would otherwise build at init, for a value that some invocations never use. zod builds a schema
 * when its `z.*` calls run, tens of microseconds each, so a module's schemas built at import all
 * land on every cold start of a function bundling them; a schema that a function uses on some of
 * its invocations only (one route of several, a rare path) is declared through this instead, and
 * called where it is used. A function that uses it on every invocation pays the same either way.
 * The handlers make their rarely used clients and their logger through it too.
 *
 * Schemas composed from it are built at first use too, inside their own `build`: a schema built at
 * import would build this one at import with it.
 */
export const builtAtFirstUse = <T>(build: () => T): (() => T) => {
  let built: { readonly value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
};
