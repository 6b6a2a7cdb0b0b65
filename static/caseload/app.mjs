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

/**
 * The allocate page: as the manager chooses a provisional level, each
 * worker's "after" percentage and band follow the weight chosen (the page
 * first shows them at the middle of each scale). Without script, sending the
 * form shows the true figures, and the server decides on its own numbers.
 */
function followLevels(form) {
  const middles = new Map(
    form.dataset.appLevelMiddles.split(" ").map((pair) => {
      const [name, value] = pair.split("=");
      return [name, Number(value)];
    }),
  );
  const weight = () =>
    [...middles].reduce((total, [name, middle]) => {
      const checked = form.querySelector(`input[name="${name}"]:checked`);
      return total + (checked ? Number(checked.value) : middle);
    }, 0);
  const update = () => {
    const added = weight();
    form.querySelectorAll("[data-app-after-percent]").forEach((span) => {
      const item = span.closest(".govuk-radios__item");
      const worker = item.querySelector("input[data-app-load]").dataset;
      const load = Number(worker.appLoad) + added;
      const capacity = Number(worker.appCapacity);
      const thresholds = worker.appBands.split(" ").map(Number);
      const labels = worker.appBandLabels.split("|");
      const band = (value) => {
        const index = thresholds.findIndex((threshold, i) =>
          i === 1 ? value <= threshold : value < threshold,
        );
        return index === -1 ? 3 : index;
      };
      // As the server shows it: one decimal place, moved by a tenth where
      // plain rounding would cross into the next band.
      const exact = (load * 100) / capacity;
      let shown = Math.round(exact * 10) / 10;
      if (band(shown) !== band(exact)) shown += shown < exact ? 0.1 : -0.1;
      span.textContent = `${shown.toFixed(1)}%`;
      const tag = item.querySelector("[data-app-after-band] .govuk-tag");
      if (tag) {
        const names = ["blue", "green", "amber", "red"];
        tag.className = `govuk-tag app-band app-band--${names[band(exact)]}`;
        tag.textContent = labels[band(exact)];
      }
    });
  };
  form.addEventListener("change", (event) => {
    if (middles.has(event.target.name)) update();
  });
}

document.querySelectorAll("form[data-app-level-middles]").forEach(followLevels);
