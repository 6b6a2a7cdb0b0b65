// Starts GOV.UK Frontend and MoJ Frontend components. Loaded as a module from
// our own origin so that the Content Security Policy needs no inline script.
import { initAll as initGovukFrontend } from "../govuk/govuk-frontend.min.js";
import { initAll as initMojFrontend } from "../moj/moj-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initGovukFrontend();
initMojFrontend();
