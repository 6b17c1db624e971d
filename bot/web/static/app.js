// quotebot's web pages: highlight the passage asked for, search without reloading,
// and inside Telegram's Mini App follow its theme and back button. Every page works
// without this file; nothing from the server is ever inserted as HTML (textContent only).
"use strict";
(function () {
  var doc = document;

  function launchParams() {
    // Telegram passes its launch parameters in the URL fragment (tgWebAppData=…&…).
    var raw = location.hash.slice(1);
    if (raw.indexOf("tgWebApp") < 0) return null;
    var out = {};
    raw.split("&").forEach(function (pair) {
      var i = pair.indexOf("=");
      if (i > 0) {
        try { out[decodeURIComponent(pair.slice(0, i))] = decodeURIComponent(pair.slice(i + 1)); }
        catch (e) { /* a malformed pair is skipped */ }
      }
    });
    return out;
  }

  function applyTheme(theme) {
    if (!theme) return;
    var root = doc.documentElement;
    root.classList.add("tg");
    var names = { bg_color: "--tg-bg", text_color: "--tg-text", hint_color: "--tg-hint",
      link_color: "--tg-link", button_color: "--tg-button", button_text_color: "--tg-button-text",
      secondary_bg_color: "--tg-secondary-bg" };
    Object.keys(names).forEach(function (key) {
      var value = theme[key];
      if (typeof value === "string" && /^#[0-9a-fA-F]{3,8}$/.test(value)) {
        root.style.setProperty(names[key], value);
      }
    });
  }

  function highlight(id) {
    if (!id) return null;
    var el = doc.getElementById(id);
    if (!el || !el.classList.contains("passage")) return null;
    var old = doc.querySelectorAll(".passage.highlight");
    for (var i = 0; i < old.length; i++) old[i].classList.remove("highlight");
    el.classList.add("highlight");
    el.scrollIntoView({ block: "center" });
    return el;
  }

  function text(tag, cls, value) {
    var el = doc.createElement(tag);
    if (cls) el.className = cls;
    if (value !== undefined) el.textContent = value;
    return el;
  }

  function render(box, form, data) {
    var here = form.getAttribute("data-conversation") || "";
    box.textContent = "";
    var q = data.query.slice(0, 100);
    if (!data.results.length) {
      var none = text("p", "none", (form.getAttribute("data-l-none") || "").replace("{query}", q));
      none.setAttribute("data-status", "none");
      box.appendChild(none);
      return;
    }
    var heading = data.status === "answer" ? form.getAttribute("data-l-answers")
      : (form.getAttribute("data-l-closest") || "").replace("{query}", q);
    var h = text("h2", "", heading);
    h.setAttribute("data-status", data.status);
    box.appendChild(h);
    var list = text("ol", "hits");
    data.results.forEach(function (r) {
      var li = text("li", r.confident ? "hit" : "hit suggestion");
      li.setAttribute("data-id", r.id);
      if (!r.confident) {
        var mark = text("span", "approx", "≈");
        mark.title = "closest in meaning";
        li.appendChild(mark);
        li.appendChild(doc.createTextNode(" "));
      }
      var a = text("a");
      a.href = r.conversation === here ? "#" + encodeURIComponent(r.id) : r.href;
      a.appendChild(text("span", "who", r.speaker));
      a.appendChild(doc.createTextNode(" "));
      a.appendChild(text("span", "t", r.at));
      li.appendChild(a);
      if (r.question) {
        var asked = (form.getAttribute("data-l-asked") || "{host}: {question}")
          .replace("{host}", r.question.speaker).replace("{question}", r.question.text);
        li.appendChild(text("p", "asked", asked));
      }
      li.appendChild(text("span", "text", r.quote));
      list.appendChild(li);
    });
    box.appendChild(list);
  }

  function wireSearch() {
    var form = doc.querySelector("form.search");
    var box = doc.getElementById("results");
    if (!form || !box || !window.fetch) return;
    form.addEventListener("submit", function (event) {
      var q = form.elements.q.value.trim();
      if (!q) return;
      event.preventDefault();
      var params = new URLSearchParams({ q: q, lang: form.getAttribute("data-lang") || "zh" });
      var here = form.getAttribute("data-conversation");
      if (here) params.set("c", here);
      box.setAttribute("aria-busy", "true");
      fetch("/api/search?" + params.toString(), { headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(function (data) { render(box, form, data); })
        .catch(function () { form.submit(); })  // rate-limited or offline: the plain form
        .then(function () { box.removeAttribute("aria-busy"); });
    });
  }

  function telegram(params) {
    applyTheme(params.tgWebAppThemeParams ? safeJson(params.tgWebAppThemeParams) : null);
    var script = doc.createElement("script");
    script.src = "https://telegram.org/js/telegram-web-app.js";
    script.async = true;
    script.onload = function () {
      var app = window.Telegram && window.Telegram.WebApp;
      if (!app) return;
      app.ready();
      app.expand();
      applyTheme(app.themeParams);
      app.onEvent("themeChanged", function () { applyTheme(app.themeParams); });
      if (history.length > 1) {
        app.BackButton.show();
        app.BackButton.onClick(function () { history.back(); });
      }
      offerSend(app);
      // The video opens in Telegram's browser, not inside the Mini App's page.
      doc.addEventListener("click", function (event) {
        var a = event.target.closest && event.target.closest("a.time, a.at, a.watch");
        if (!a) return;
        event.preventDefault();
        app.openLink(a.href);
      });
    };
    doc.head.appendChild(script);
  }

  function offerSend(app) {
    var main = doc.querySelector("main[data-highlight]");
    var label = main && main.getAttribute("data-send-label");
    var target = main && doc.getElementById(main.getAttribute("data-highlight"));
    if (!target || !label || !app.initData) return;
    var button = text("button", "send", label);
    button.type = "button";
    button.addEventListener("click", function () {
      button.disabled = true;
      fetch("/api/send", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ initData: app.initData, passage: target.id }),
      }).then(function (r) { button.textContent = r.ok ? "✓" : "✗"; });
    });
    target.parentNode.insertBefore(button, target.nextSibling);
  }

  function safeJson(raw) {
    try { return JSON.parse(raw); } catch (e) { return null; }
  }

  function start() {
    var main = doc.querySelector("main[data-highlight]");
    var id = main ? main.getAttribute("data-highlight") : "";
    var hash = location.hash.slice(1);
    if (hash && hash.indexOf("tgWebApp") < 0) {
      try { id = decodeURIComponent(hash); } catch (e) { /* keep the server's */ }
    }
    var shown = highlight(id);
    // The browser's own jump to the #fragment puts the passage at the very top; once
    // loaded, centre it, so what comes before it (the question, the speaker) shows too.
    if (shown) window.addEventListener("load", function () { shown.scrollIntoView({ block: "center" }); });
    window.addEventListener("hashchange", function () {
      try { highlight(decodeURIComponent(location.hash.slice(1))); } catch (e) { /* ignore */ }
    });
    wireSearch();
    var params = launchParams();
    if (params) telegram(params);
  }

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", start);
  else start();
})();
