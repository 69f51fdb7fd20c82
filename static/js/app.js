// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  function csrf() {
    const el = document.querySelector("input[name=csrfmiddlewaretoken]");
    return el ? el.value : "";
  }

  function text(el, value) { el.textContent = value; return el; }

  // --- intake: live serial lookup -------------------------------------------------------------
  const serial = document.getElementById("serial_number");
  const serialStatus = document.getElementById("serial-status");
  const modelSelect = document.getElementById("product_model");
  let serialTimer = null;
  let serialSeq = 0;

  function showSerial(data) {
    serialStatus.replaceChildren();
    const badge = document.createElement("span");
    badge.className = "badge ws-" + (data.repair_warranty ? "in_warranty" : (data.status || "unknown"));
    text(badge, data.label || "");
    serialStatus.appendChild(badge);
    if (data.detail) {
      serialStatus.appendChild(text(document.createElement("span"), " " + data.detail)).className = "detail";
    }
    if (data.product_model && modelSelect) {
      modelSelect.value = data.product_model.code;
      modelSelect.dispatchEvent(new Event("change"));
    }
  }

  function lookupSerial() {
    const value = serial.value.trim();
    if (value.length < 4) { serialStatus.replaceChildren(); return; }
    const seq = ++serialSeq;
    fetch(serial.dataset.url + "?serial=" + encodeURIComponent(value), {
      headers: { "Accept": "application/json" }, credentials: "same-origin",
    }).then(function (r) { return r.json(); }).then(function (data) {
      if (seq !== serialSeq) { return; }  // an older answer arrived late
      if (data.ok) { showSerial(data); return; }
      serialStatus.replaceChildren();
      const errors = Object.values(data.errors || {}).flat();
      serialStatus.appendChild(text(document.createElement("span"), errors.join(" "))).className = "ferr";
    }).catch(function () { /* the server checks again on submit */ });
  }

  if (serial && serialStatus) {
    serial.addEventListener("input", function () {
      clearTimeout(serialTimer);
      serialTimer = setTimeout(lookupSerial, 300);
    });
    if (serial.value.trim()) { lookupSerial(); }
  }

  // --- intake: customer lookup by phone (POST, so the number stays out of URLs) ----------------
  const findBtn = document.getElementById("find-customer");
  const phone = document.getElementById("customer_phone");
  const matches = document.getElementById("customer-matches");

  function findCustomer() {
    if (!phone.value.trim()) { return; }
    const body = new URLSearchParams({ phone: phone.value });
    fetch(findBtn.dataset.url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "Accept": "application/json" },
    }).then(function (r) { return r.json(); }).then(function (data) {
      if (data.ok) {
        matches.innerHTML = data.html;  // rendered and escaped by Django
      } else {
        matches.replaceChildren(text(document.createElement("p"),
          Object.values(data.errors || {}).flat().join(" ")));
        matches.firstChild.className = "ferr";
      }
    }).catch(function () { /* ignore: the form still works */ });
  }

  if (findBtn && phone && matches) {
    findBtn.addEventListener("click", findCustomer);
    phone.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); findCustomer(); }
    });
    phone.addEventListener("change", findCustomer);
    matches.addEventListener("click", function (e) {
      const useCustomer = e.target.closest(".use-customer");
      const useSerial = e.target.closest(".use-serial");
      if (useCustomer) {
        document.getElementById("customer_name").value = useCustomer.dataset.name;
        if (useCustomer.dataset.email) { document.getElementById("customer_email").value = useCustomer.dataset.email; }
        if (useCustomer.dataset.address) { document.getElementById("customer_address").value = useCustomer.dataset.address; }
      }
      if (useSerial && serial) {
        serial.value = useSerial.dataset.serial;
        lookupSerial();
      }
    });
  }

  // --- intake: channel and return method ------------------------------------------------------
  const form = document.getElementById("intake-form");
  if (form) {
    const inShop = document.getElementById("device_in_shop");
    const courierBox = document.getElementById("courier-address-box");
    const sync = function () {
      const ret = form.querySelector("input[name=return_method]:checked");
      courierBox.hidden = !(ret && ret.value === "courier");
    };
    form.querySelectorAll("input[name=intake_channel]").forEach(function (el) {
      el.addEventListener("change", function () {
        // A phoned-in problem usually means the device stays with the customer.
        if (el.checked) { inShop.checked = el.value === "walk_in"; }
      });
    });
    form.querySelectorAll("input[name=return_method]").forEach(function (el) {
      el.addEventListener("change", sync);
    });
    sync();
  }

  // --- intake: the condition checklist follows the chosen model's category ------------------
  // Rows outside the category are hidden and their inputs disabled, so they are not sent.
  const conditionMap = document.getElementById("condition-map");
  if (conditionMap && modelSelect) {
    const map = JSON.parse(conditionMap.textContent);
    const showItems = function () {
      const items = map[modelSelect.value] || map["default"];
      document.querySelectorAll("#condition tr[data-item]").forEach(function (row) {
        const shown = items.indexOf(row.dataset.item) !== -1;
        row.hidden = !shown;
        row.querySelectorAll("input").forEach(function (input) { input.disabled = !shown; });
      });
    };
    modelSelect.addEventListener("change", showItems);
  }

  // --- no double submits: a second click while the first is under way does nothing ------------
  document.addEventListener("submit", function (e) {
    const f = e.target;
    if (f.dataset.sent) { e.preventDefault(); return; }
    f.dataset.sent = "1";
    setTimeout(function () { delete f.dataset.sent; }, 4000);
  });
  // --- board: the sideways-scroll hint and edge shadows only where there is more -------------
  const boardWrap = document.getElementById("boardwrap");
  const board = document.getElementById("board");
  const boardHint = document.getElementById("board-hint");
  function boardEdges() {
    const more = board.scrollWidth - board.clientWidth;
    boardWrap.classList.toggle("more-left", board.scrollLeft > 2);
    boardWrap.classList.toggle("more-right", board.scrollLeft < more - 2);
    if (boardHint) { boardHint.hidden = more <= 2; }
  }
  if (boardWrap && board) {
    board.addEventListener("scroll", boardEdges, { passive: true });
    window.addEventListener("resize", boardEdges);
    boardEdges();
  }
})();
