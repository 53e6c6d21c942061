// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
  namespace App {
    interface Error {
      message: string;
      code?: string;
    }
    /** Shown once after a navigation, never in the URL: a new campaign's webhook signing secret. */
    interface PageState {
      webhookSecret?: string;
    }
  }
}

export {};
