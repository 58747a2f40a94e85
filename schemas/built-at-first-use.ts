/**
 * A schema built at its first use and kept. zod builds a schema when its `z.*` calls run, tens of
 * microseconds each, so a module's schemas built at import all land on every cold start of a
 * function bundling them. A schema that a function uses on some of its invocations only (one
 * route of several, a rare path) is declared through this instead: a function, called where the
 * schema is used, that builds it on the first call. A function that uses it on every invocation
 * pays the same either way.
 *
 * Schemas composed from it are built at first use too, inside their own `build`: a schema built at
 * import would build this one at import with it.
 */
export const builtAtFirstUse = <T>(build: () => T): (() => T) => {
  let built: T | undefined;
  return () => {
    built ??= build();
    return built;
  };
};
