import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * `zod/mini` comes without messages. This sets the English ones that `zod` uses by default, so
 * issues read the same ("Invalid input: expected string, received number"). `common.ts` imports
 * it, and every schema module imports `common.ts`. The deep import keeps the other locales out
 * of the Lambda bundles (`z.locales` would pull in all of them).
 */
z.config(en());
