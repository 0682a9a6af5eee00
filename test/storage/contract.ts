import { describe, expect, it } from "vitest";
import { NonRetryableError } from "../../src/domain/errors";
import { listKeys, type StorageDriver } from "../../src/storage/driver";
import { UnsafePathError } from "../../src/storage/paths";

/**
 * The behaviour every StorageDriver shares, run against a real implementation of its API (R2 in workerd,
 * s3rver, azurite). Each call of `driverContract` gets its own key prefix.
 */
export interface ContractOptions {
  driver: () => StorageDriver;
  /** A driver for the same store with wrong credentials. */
  badCredentials?: () => StorageDriver;
  /** Objects in the large-folder test (over 1000: more than one page and one delete batch). */
  largeFolder?: number;
}

const text = (value: string) => new TextEncoder().encode(value);

async function seed(driver: StorageDriver, keys: string[], concurrency = 32): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        await driver.put(key, `body of ${key}`);
      }
    }),
  );
}

export function driverContract(name: string, options: ContractOptions): void {
  const run = `contract-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const at = (path: string) => `${run}/${path}`;

  describe(`${name} driver`, () => {
    it("puts, heads and gets an object; a missing one is null", async () => {
      const driver = options.driver();
      await driver.put(at("basic/hello.txt"), "hello world", { contentType: "text/plain" });
      const info = await driver.head(at("basic/hello.txt"));
      expect(info).toMatchObject({ key: at("basic/hello.txt"), size: 11 });
      expect(info!.etag).toBeTruthy();
      const object = await driver.get(at("basic/hello.txt"));
      expect(await object!.text()).toBe("hello world");
      await driver.put(at("basic/bytes.bin"), text("\u0000\u0001binary"));
      expect((await driver.head(at("basic/bytes.bin")))!.size).toBe(8);
      expect(await driver.head(at("basic/missing.txt"))).toBeNull();
      expect(await driver.get(at("basic/missing.txt"))).toBeNull();
    });

    it("lists a folder in pages, in key order, without its siblings", async () => {
      const driver = options.driver();
      const keys = Array.from({ length: 25 }, (_, i) => at(`paged/item-${String(i).padStart(2, "0")}.txt`));
      await seed(driver, [...keys, at("paged-sibling/x.txt"), at("pagedx.txt")]);
      const pages: string[][] = [];
      let cursor: string | null = null;
      do {
        const page = await driver.list(at("paged/"), { cursor, limit: 10 });
        pages.push(page.objects.map((object) => object.key));
        cursor = page.cursor;
      } while (cursor !== null);
      expect(pages.map((page) => page.length)).toStrictEqual([10, 10, 5]);
      expect(pages.flat()).toStrictEqual(keys);
      expect(await listKeys(driver, at("paged/"))).toStrictEqual(keys);
      expect(await listKeys(driver, at("nothing-here/"))).toStrictEqual([]);
    });

    it("keeps keys with spaces, plus signs, unicode and URL characters intact", async () => {
      const driver = options.driver();
      const names = ["a b.txt", "c+d.txt", "e=f&g.txt", "é ü 字.txt", "(paren)!*'.txt", "percent%20.txt", "semi;colon,comma.txt", "tilde~at@.txt"];
      const keys = names.map((name) => at(`odd/${name}`));
      await seed(driver, keys);
      expect((await listKeys(driver, at("odd/"))).sort()).toStrictEqual([...keys].sort());
      for (const key of keys) expect(await (await driver.get(key))!.text()).toBe(`body of ${key}`);
      await driver.copy(keys[1]!, at("odd-copy/c+d copy.txt"));
      expect(await (await driver.get(at("odd-copy/c+d copy.txt")))!.text()).toBe(`body of ${keys[1]}`);
      await driver.delete(keys);
      expect(await listKeys(driver, at("odd/"))).toStrictEqual([]);
    });

    it("copies and moves server-side; a missing source is a non-retryable error", async () => {
      const driver = options.driver();
      await driver.put(at("copy/source.ism"), "<smil/>", { contentType: "application/vnd.ms-sstr+xml" });
      await driver.copy(at("copy/source.ism"), at("copy/target.ism"));
      expect(await (await driver.get(at("copy/target.ism")))!.text()).toBe("<smil/>");
      expect(await driver.head(at("copy/source.ism"))).not.toBeNull();
      await driver.move(at("copy/target.ism"), at("copy/moved.ism"));
      expect(await driver.head(at("copy/target.ism"))).toBeNull();
      expect(await (await driver.get(at("copy/moved.ism")))!.text()).toBe("<smil/>");
      await expect(driver.copy(at("copy/nope.ism"), at("copy/other.ism"))).rejects.toBeInstanceOf(NonRetryableError);
      await expect(driver.move(at("copy/nope.ism"), at("copy/other.ism"))).rejects.toBeInstanceOf(NonRetryableError);
      expect(await driver.head(at("copy/other.ism"))).toBeNull();
    });

    it("deletes keys in a batch; keys that do not exist are no error", async () => {
      const driver = options.driver();
      await seed(driver, [at("del/a"), at("del/b"), at("del/keep")]);
      await driver.delete([at("del/a"), at("del/b"), at("del/never-existed")]);
      expect(await listKeys(driver, at("del/"))).toStrictEqual([at("del/keep")]);
      await driver.delete([]);
    });

    it("refuses unsafe keys and prefixes before any request", async () => {
      const driver = options.driver();
      const unsafe = ["../escape.txt", `${run}/../../etc/passwd`, "/absolute.txt", `${run}//double`, `${run}\\back`, `${run}/nul\u0000.txt`, `${run}/./dot`, ""];
      for (const key of unsafe) {
        await expect(driver.put(key, "x"), key).rejects.toBeInstanceOf(UnsafePathError);
        await expect(driver.head(key), key).rejects.toBeInstanceOf(UnsafePathError);
        await expect(driver.get(key), key).rejects.toBeInstanceOf(UnsafePathError);
        await expect(driver.delete([key]), key).rejects.toBeInstanceOf(UnsafePathError);
        await expect(driver.copy(at("basic/hello.txt"), key), key).rejects.toBeInstanceOf(UnsafePathError);
      }
      await expect(driver.deletePrefix("")).rejects.toBeInstanceOf(UnsafePathError);
      await expect(driver.deletePrefix("/")).rejects.toBeInstanceOf(UnsafePathError);
      await expect(driver.list("../")).rejects.toBeInstanceOf(UnsafePathError);
      expect(new UnsafePathError("x")).toBeInstanceOf(NonRetryableError);
    });

    const large = options.largeFolder ?? 1_100;
    it(`deletes a folder of ${large} objects (several pages and delete batches), and nothing beside it`, { timeout: 120_000 }, async () => {
      const driver = options.driver();
      const keys = Array.from({ length: large }, (_, i) => at(`large/seg-${String(i).padStart(5, "0")}.m4s`));
      await seed(driver, [...keys, at("large-neighbour/keep.txt")], 48);
      expect((await listKeys(driver, at("large/"))).length).toBe(large);
      const deleted = await driver.deletePrefix(at("large/"));
      expect(deleted.sort()).toStrictEqual(keys);
      expect(await listKeys(driver, at("large/"))).toStrictEqual([]);
      expect(await driver.head(at("large-neighbour/keep.txt"))).not.toBeNull();
    });

    if (options.badCredentials) {
      const bad = options.badCredentials;
      it("answers wrong credentials with a non-retryable error", async () => {
        const driver = bad();
        await expect(driver.list(at("basic/"))).rejects.toBeInstanceOf(NonRetryableError);
        await expect(driver.put(at("basic/denied.txt"), "x")).rejects.toBeInstanceOf(NonRetryableError);
        expect(await options.driver().head(at("basic/denied.txt"))).toBeNull();
      });
    }
  });
}
