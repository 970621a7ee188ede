/** An error from the api (or the network), as the api worded it. */
export function ErrorBox({ error }: { error: Error | undefined }) {
  if (error === undefined) return null;
  return (
    <p class="error" role="alert" data-testid="error">
      {error.message}
    </p>
  );
}
