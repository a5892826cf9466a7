// Generated from server/keras_migrate/settings_schema.py by scripts/generate_package_json.py: do not edit.
// The server validates every value (the schema's checks); the client only forwards them.

/** package.json key below `keras-migrate.` -> the key the server reads. */
export const SERVER_KEYS = {
  "runInterpreter": "runInterpreter",
  "select": "select",
  "ignore": "ignore",
  "perFileIgnores": "perFileIgnores",
  "exclude": "exclude",
  "targetBackends": "targetBackends",
  "kerasVersion": "kerasVersion",
  "unsafeFixes": "unsafeFixes",
  "logLevel": "logLevel",
  "debounceMs": "debounceMs",
  "configurationPreference": "configurationPreference",
  "lint.run": "lintRun",
  "codeAction.disableRuleComment.enable": "disableRuleComment",
} as const;

/** The `[tool.keras-migrate]` keys among them: sent only when the user set them. */
export const RULE_KEYS = ["select", "ignore", "perFileIgnores", "exclude", "targetBackends", "kerasVersion", "unsafeFixes"] as const;

/** Settings that only take effect when the server process restarts. */
export const RESTART_KEYS = ["importStrategy", "interpreter", "logLevel"] as const;

/** `keras-migrate.targetBackends` when unset. */
export const DEFAULT_TARGET_BACKENDS = ["tensorflow"];
