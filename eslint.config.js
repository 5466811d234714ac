// Lint: typescript-eslint's recommended rules, plus the layering rule that keeps core pure.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "grpc-server/gen/**", "bench/results/**", "data/**", "dist/**", ".tmp/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["core/**/*.ts"],
    ignores: ["core/adapters/node*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["node:*", "fastify", "fastify/*", "@grpc/*", "better-sqlite3", "@node-rs/*", "pino"],
              message: "core is runtime-agnostic: inject it through deps instead",
            },
          ],
        },
      ],
      "no-restricted-globals": [
        "error",
        { name: "process", message: "core is runtime-agnostic" },
        { name: "Buffer", message: "core is runtime-agnostic: use Uint8Array" },
      ],
    },
  },
);
