/** Where the viewer token lives between page loads of one tab. */
export const TOKEN_STORAGE_KEY = 'sensorbus.token';

export interface TokenSource {
  /** The token to use, if any. */
  readonly token: string | undefined;
  /** The address without the token, to put back in the bar so it is not bookmarked or shared by accident. */
  readonly cleanUrl: string | undefined;
}

/**
 * A `?token=` in the address wins over one kept in sessionStorage (the link `npm start` prints must
 * work even in a tab that held an older token); either way the address loses the token.
 */
export const resolveToken = (href: string, stored: string | null): TokenSource => {
  const url = new URL(href);
  const fromUrl = url.searchParams.get('token')?.trim();
  if (fromUrl) {
    url.searchParams.delete('token');
    return { token: fromUrl, cleanUrl: `${url.pathname}${url.search}${url.hash}` };
  }
  return { token: stored?.trim() || undefined, cleanUrl: undefined };
};
