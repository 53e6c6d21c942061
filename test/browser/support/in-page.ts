/**
 * The few browser APIs the tests' in-page callbacks (page.evaluate, $$eval, waitForFunction) use.
 * The test program is typed for Node, without the DOM library (adding it would change the types
 * every other test sees), so a spec names these globals in its own module scope:
 * `declare const document: InPageDocument;`.
 */
export interface InPageElement {
  readonly textContent: string | null;
  readonly dataset: Record<string, string | undefined>;
  getAttribute(name: string): string | null;
  querySelector(selector: string): InPageElement | null;
  querySelectorAll(selector: string): InPageList;
}

export type InPageList = Iterable<InPageElement> & { readonly length: number };

export interface InPageCanvas extends InPageElement {
  readonly width: number;
  readonly height: number;
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}

export interface InPageDocument {
  readonly body: InPageElement;
  querySelector(selector: string): InPageElement | null;
  querySelectorAll(selector: string): InPageList;
}

export type InPageMutationObserver = new (callback: () => void) => {
  observe(
    target: InPageElement,
    options: { subtree?: boolean; childList?: boolean; attributes?: boolean },
  ): void;
};
