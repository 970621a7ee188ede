/** A text field of a submitted form, '' when it is missing (or is a file). */
export function formText(form: EventTarget | null, name: string): string {
  const value = new FormData(form as HTMLFormElement).get(name);
  return typeof value === 'string' ? value.trim() : '';
}
