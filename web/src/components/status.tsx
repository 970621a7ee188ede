/** A status as the api names it (`rolled_back`, `healthy`), coloured by what it means. */
export function Status({ value, testid }: { value: string; testid?: string }) {
  return (
    <span class={`status status-${value}`} data-testid={testid}>
      {value}
    </span>
  );
}
