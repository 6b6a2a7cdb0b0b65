// Starts GOV.UK Frontend and MoJ Frontend components, and warns before an
// idle session ends. Loaded as a module from our own origin, so the Content
// Security Policy needs no inline script.
import { initAll as initGovukFrontend } from "../govuk/govuk-frontend.min.js";
import { initAll as initMojFrontend } from "../moj/moj-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initGovukFrontend();
initMojFrontend();

/**
 * The GOV.UK timeout warning pattern: a dialog shortly before the session
 * ends, to stay signed in. If nobody answers, a form marked
 * data-app-autosave="<button name>" is submitted with that button (a draft
 * is saved, not lost); any other page reloads to the sign-in page.
 */
function startTimeoutWarning(body) {
  const timeout = Number(body.dataset.appSessionTimeout);
  const dialog = document.getElementById("app-timeout-dialog");
  if (!timeout || !dialog || typeof dialog.showModal !== "function") return;
  const warnAfter = Math.max(0, timeout - Math.min(120, timeout / 2)) * 1000;
  const saveAfter = Math.max(0, timeout - Math.min(10, timeout / 5)) * 1000;
  const token = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  let timers = [];

  const expire = () => {
    const form = document.querySelector("form[data-app-autosave]");
    const button = form?.querySelector(`button[name="${form.dataset.appAutosave}"]`);
    if (button) {
      button.click();
    } else {
      window.location.reload();
    }
  };
  const schedule = () => {
    timers.forEach(clearTimeout);
    timers = [
      setTimeout(() => dialog.open || dialog.showModal(), warnAfter),
      setTimeout(expire, saveAfter),
    ];
  };
  const stay = async () => {
    await fetch(body.dataset.appKeepAlive, {
      method: "POST",
      headers: { "X-CSRFToken": token },
      credentials: "same-origin",
    });
    if (dialog.open) dialog.close();
    schedule();
  };
  dialog.querySelector("[data-app-stay]").addEventListener("click", stay);
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    stay();
  });
  schedule();
}

startTimeoutWarning(document.body);

/**
 * An import in progress: ask how far it has got every two seconds and show
 * it; when it has finished, load the result. Without JavaScript the page
 * offers a link to refresh it.
 */
function followImport(element) {
  const bar = element.querySelector("progress");
  const text = element.querySelector("[data-app-progress-text]");
  const poll = async () => {
    const response = await fetch(element.dataset.appProgressUrl, { credentials: "same-origin" });
    if (!response.ok) return;
    const run = await response.json();
    if (!run.in_progress) {
      window.location.reload();
      return;
    }
    bar.max = run.row_count;
    bar.value = run.rows_done;
    text.textContent = run.progress_text;
    setTimeout(poll, 2000);
  };
  setTimeout(poll, 2000);
}

document.querySelectorAll("[data-app-progress-url]").forEach(followImport);
