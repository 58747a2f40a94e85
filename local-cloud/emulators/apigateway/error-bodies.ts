/**
 * How the API's error bodies read. API Gateway answers some failures itself, in the body its
 * gateway responses declare; the API's own contract decides that shape, so the launcher supplies it.
 */
export interface ErrorBodies {
  /** A gateway response's template with API Gateway's message (`$context.error.messageString`) in place. */
  readonly render: (template: string, message: string) => string;
  /**
   * A 401 body narrowed to the one credential header the route needs (a deployed template cannot
   * branch, so it names every credential header of the API).
   */
  readonly narrowToCredential: (body: string, header: string) => string;
  /** The body of an error the local gateways answer on their own, naming the field at fault when there is one. */
  readonly error: (code: string, message: string, field?: string) => string;
}
