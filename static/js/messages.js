// The message editor's live preview: as the manager types, the form is posted to the preview
// URL and the pane shows the rendered subject and body, with the errors beside their fields.
// Without JavaScript the "Preview" button renders the same pane on the server.
(function () {
  "use strict";
  const form = document.getElementById("message-form");
  if (!form || !window.fetch) return;
  const subject = document.getElementById("preview-subject");
  const body = document.getElementById("preview-body");
  let timer = null;
  let sent = 0;

  function showBody(text) {
    body.textContent = "";
    text.split("\n").forEach(function (line, i) {
      if (i) body.appendChild(document.createElement("br"));
      body.appendChild(document.createTextNode(line));
    });
  }

  function showErrors(errors) {
    form.querySelectorAll("[data-errors]").forEach(function (box) {
      box.textContent = "";
      (errors[box.dataset.errors] || []).forEach(function (message) {
        const p = document.createElement("p");
        p.className = "ferr";
        p.setAttribute("role", "alert");
        p.textContent = message;
        box.appendChild(p);
      });
    });
  }

  function refresh() {
    const mine = ++sent;
    const data = new FormData(form);
    data.delete("action");
    fetch(form.dataset.previewUrl, {
      method: "POST",
      body: data,
      headers: { "X-CSRFToken": data.get("csrfmiddlewaretoken"), "Accept": "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (!answer || mine !== sent) return; // a later keystroke's answer wins
        subject.textContent = answer.subject;
        showBody(answer.body);
        showErrors(answer.errors || {});
      })
      .catch(function () { /* the server-side Preview button still works */ });
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
})();
