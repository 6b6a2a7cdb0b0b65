// Compiles the stylesheet and copies the browser files that the pages use into
// ../static. Run with `npm ci && npm run build`; the output is committed so that
// running the application needs no Node.js.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const here = dirname(fileURLToPath(import.meta.url));
const staticDir = join(here, "..", "static");
const govuk = join(here, "node_modules", "govuk-frontend", "dist", "govuk");
const moj = join(here, "node_modules", "@ministryofjustice", "frontend", "moj");

const version = (pkg) =>
  JSON.parse(readFileSync(join(here, "node_modules", pkg, "package.json"))).version;

const css = sass.compile(join(here, "src", "caseload.scss"), {
  loadPaths: [here],
  style: "compressed",
  quietDeps: true,
});
mkdirSync(join(staticDir, "caseload"), { recursive: true });
// The council's pages carry no Royal crest: the footer's copyright crest (the
// one image GOV.UK Frontend's own CSS asks for) is not shipped, nor referenced.
const withoutCrest = css.css.replace(/url\("?[^)"]*govuk-crest\.svg"?\)/g, "none");
writeFileSync(join(staticDir, "caseload", "caseload.css"), withoutCrest);

mkdirSync(join(staticDir, "govuk"), { recursive: true });
cpSync(join(govuk, "govuk-frontend.min.js"), join(staticDir, "govuk", "govuk-frontend.min.js"));
mkdirSync(join(staticDir, "moj", "assets"), { recursive: true });
cpSync(join(moj, "moj-frontend.min.js"), join(staticDir, "moj", "moj-frontend.min.js"));
rmSync(join(staticDir, "moj", "assets"), { recursive: true, force: true });
cpSync(join(moj, "assets", "images"), join(staticDir, "moj", "assets", "images"), {
  recursive: true,
  // The council's service carries no crown, crest or MoJ branding: icons only.
  filter: (source) => !/(crown|crest|moj-[^/]*$)/.test(source),
});

writeFileSync(
  join(staticDir, "VERSIONS.txt"),
  [
    "Compiled by frontend/build.mjs; do not edit by hand.",
    `govuk-frontend ${version("govuk-frontend")}`,
    `@ministryofjustice/frontend ${version("@ministryofjustice/frontend")}`,
    `sass ${version("sass")}`,
    "",
  ].join("\n"),
);
console.log("Built static/caseload/caseload.css and copied GOV.UK and MoJ Frontend files.");
