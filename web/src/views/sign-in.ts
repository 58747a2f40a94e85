/** Asks for a viewer token when the page was opened without one, or the one it had was refused. */
import { h } from '../dom.ts';

export const signInView = (onToken: (token: string) => void, problem?: string): HTMLElement => {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'token-help',
  });
  const form = h(
    'form',
    { class: 'sign-in-card', 'aria-labelledby': 'sign-in-title' },
    h(
      'div',
      { class: 'brand' },
      h('span', { class: 'brand-mark', 'aria-hidden': 'true' }),
      h('span', { class: 'brand-name' }, 'sensorbus'),
    ),
    h('h1', { id: 'sign-in-title' }, 'Open the live dashboard'),
    problem ? h('p', { class: 'sign-in-problem', role: 'alert' }, problem) : undefined,
    h('label', { for: 'token' }, 'Viewer token'),
    input,
    h(
      'p',
      { id: 'token-help', class: 'sign-in-help' },
      'Use the dashboard link that ',
      h('code', {}, 'npm start'),
      ' prints, or paste a viewer token from ',
      h('code', {}, 'POST /tokens'),
      '. It is kept for this tab only.',
    ),
    h('button', { type: 'submit' }, 'Open dashboard'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (token) onToken(token);
  });
  queueMicrotask(() => input.focus());
  return h('main', { class: 'sign-in' }, form);
};

/** A page-wide problem the dashboard cannot work around, e.g. no `/config.json`. */
export const problemView = (title: string, detail: string): HTMLElement =>
  h(
    'main',
    { class: 'sign-in' },
    h('div', { class: 'sign-in-card', role: 'alert' }, h('h1', {}, title), h('p', {}, detail)),
  );
