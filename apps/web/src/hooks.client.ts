import type { HandleClientError } from '@sveltejs/kit';

/** A missing page is shown on the error page; only unexpected errors are worth the console. */
export const handleError: HandleClientError = ({ error, status, message }) => {
  if (status !== 404) console.error(error);
  return { message: status === 404 ? message : 'Something went wrong while showing this page.' };
};
