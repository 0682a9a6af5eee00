/** Per-client settings (POST /settings): names, defaults and parsing. Values travel as strings, as in the reference API. */

export interface ClientSettings {
  max_jobs: number;
  priority_slots: number;
  priority_threshold: number;
  schedule_interval: number;
  retry_delay: number;
  retry_limit: number;
  callback_retry_schedule: number[];
  retention_days: number;
  /** Requests a second the client may make (token bucket rate). */
  rate_limit: number;
  /** Requests the client may make at once (token bucket size). */
  rate_burst: number;
}

export type SettingName = keyof ClientSettings;

export const DEFAULT_SETTINGS: ClientSettings = {
  max_jobs: 2,
  priority_slots: 0,
  priority_threshold: 5,
  schedule_interval: 60,
  retry_delay: 5,
  retry_limit: 3,
  callback_retry_schedule: [5, 300, 1800, 7200, 18000, 36000, 36000],
  retention_days: 30,
  rate_limit: 50,
  rate_burst: 100,
};

type Parser<T> = (text: string) => T | string;

const integer =
  (min: number, max: number): Parser<number> =>
  (text) => {
    const value = Number(text.trim());
    return /^\s*-?\d+\s*$/.test(text) && value >= min && value <= max ? value : `must be a whole number from ${min} to ${max}`;
  };

const seconds =
  (max: number): Parser<number> =>
  (text) => {
    const value = Number(text.trim());
    return /^\s*\d+(\.\d+)?\s*$/.test(text) && value >= 0 && value <= max
      ? value
      : `must be a number of seconds from 0 to ${max}`;
  };

const schedule: Parser<number[]> = (text) => {
  const parts = text.split(",").map((part) => part.trim());
  const values = parts.map(Number);
  if (parts.length > 20 || parts.some((part) => !/^\d+(\.\d+)?$/.test(part)) || values.some((v) => !Number.isFinite(v) || v < 0 || v > 86_400)) {
    return "must be a comma-separated list of at most 20 delays in seconds (0 to 86400 each)";
  }
  return values;
};

const parsers: { [K in SettingName]: Parser<ClientSettings[K]> } = {
  max_jobs: integer(1, 1000),
  priority_slots: integer(0, 1000),
  priority_threshold: integer(1, 10),
  schedule_interval: integer(1, 86_400),
  retry_delay: seconds(3600),
  retry_limit: integer(0, 20),
  callback_retry_schedule: schedule,
  retention_days: integer(1, 3650),
  rate_limit: integer(1, 100_000),
  rate_burst: integer(1, 100_000),
};

export function isSettingName(name: string): name is SettingName {
  return Object.hasOwn(parsers, name);
}

export function settingNames(): SettingName[] {
  return Object.keys(parsers) as SettingName[];
}

/** Parses one setting's text; returns the value or a sentence saying what is wrong. */
export function parseSetting<K extends SettingName>(name: K, text: string): { value: ClientSettings[K] } | { error: string } {
  const parsed = parsers[name](text);
  // Every setting's value is a number or a list, so a string is always the parser's complaint.
  return typeof parsed === "string" ? { error: `${name} ${parsed}` } : { value: parsed as ClientSettings[K] };
}

/** The client's settings: the stored ones over the defaults. Stored values that no longer parse are ignored. */
export function resolveSettings(stored: Iterable<{ name: string; value: string }>): ClientSettings {
  const settings: ClientSettings = { ...DEFAULT_SETTINGS, callback_retry_schedule: [...DEFAULT_SETTINGS.callback_retry_schedule] };
  for (const { name, value } of stored) {
    if (!isSettingName(name)) continue;
    const parsed = parseSetting(name, value);
    if ("value" in parsed) (settings as unknown as Record<string, unknown>)[name] = parsed.value;
  }
  return settings;
}
