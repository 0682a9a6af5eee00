/** `load` called at most once per argument: later calls share the first call's promise. */
export function once<T>(load: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const loaded = new Map<string, Promise<T>>();
  return (key) => {
    let promise = loaded.get(key);
    if (!promise) {
      promise = load(key);
      loaded.set(key, promise);
    }
    return promise;
  };
}
