/** A tiny element builder: enough for a dashboard without a framework. */
type Attributes = Record<string, string | number | boolean | undefined>;
type Child = Node | string | undefined | false;

export const h = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] => {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name === 'class') element.className = String(value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
};

/** Sets text only when it changed, so ticking updates do not disturb screen readers or selection. */
export const setText = (element: Element, text: string): void => {
  if (element.textContent !== text) element.textContent = text;
};

/** Sets (or removes, for undefined) an attribute only when it changed. */
export const setAttr = (element: Element, name: string, value: string | number | undefined): void => {
  if (value === undefined) {
    if (element.hasAttribute(name)) element.removeAttribute(name);
    return;
  }
  const text = String(value);
  if (element.getAttribute(name) !== text) element.setAttribute(name, text);
};

const SVG_NS = 'http://www.w3.org/2000/svg';

/** A small inline SVG icon from path data (24×24 view box), hidden from assistive technology. */
export const icon = (pathData: string, className = 'icon'): SVGSVGElement => {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', className);
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', pathData);
  svg.append(path);
  return svg;
};
