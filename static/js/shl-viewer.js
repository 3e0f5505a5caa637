/* The SMART Health Link viewer: opens a "#shlink:/…" link in the browser.

   The link's key stays in the address's fragment (never sent to any server); the record is fetched
   encrypted from the link's manifest and decrypted here with WebCrypto (AES-256-GCM, compact JWE
   with alg "dir"). Everything from the record is written with textContent only, so that no string
   in it can become markup or script. The page's words come from data-t-* attributes on #shl-viewer,
   rendered by the server in the page's language. */
(function () {
  "use strict";

  var RECIPIENT = "Family health portal viewer";
  var root = document.getElementById("shl-viewer");
  if (!root) return;
  var statusLine = document.getElementById("shl-status");
  var problemLine = document.getElementById("shl-problem");
  var labelLine = document.getElementById("shl-label");
  var form = document.getElementById("shl-passcode-form");
  var passcodeInput = document.getElementById("shl-passcode");
  var recordBox = document.getElementById("shl-record");
  var language = document.documentElement.lang || "en";
  document.getElementById("shl-no-script").hidden = true;

  function t(name, values) {
    var text = root.getAttribute("data-t-" + name) || "";
    Object.keys(values || {}).forEach(function (key) {
      text = text.split("{" + key + "}").join(String(values[key]));
    });
    return text;
  }

  function say(text) {
    statusLine.textContent = text;
  }

  function problem(text) {
    say("");
    problemLine.textContent = text;
    problemLine.hidden = !text;
  }

  function bytesOf(base64url) {
    var text = String(base64url).replace(/-/g, "+").replace(/_/g, "/");
    while (text.length % 4) text += "=";
    var binary = atob(text);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function readPayload() {
    var hash = window.location.hash || "";
    var at = hash.indexOf("shlink:/");
    if (at < 0) return null;
    var payload = JSON.parse(new TextDecoder().decode(bytesOf(hash.slice(at + "shlink:/".length))));
    if (!payload || typeof payload.url !== "string" || typeof payload.key !== "string") throw new Error("payload");
    if (bytesOf(payload.key).length !== 32) throw new Error("key");
    return payload;
  }

  async function decrypt(compact, keyBytes) {
    var parts = String(compact).split(".");
    if (parts.length !== 5) throw new Error("not a compact JWE");
    var header = JSON.parse(new TextDecoder().decode(bytesOf(parts[0])));
    if (header.alg !== "dir" || header.enc !== "A256GCM") throw new Error("unsupported JWE");
    var key = await crypto.subtle.importKey("raw", keyBytes, { name: "AES-GCM" }, false, ["decrypt"]);
    var ciphertext = bytesOf(parts[3]);
    var tag = bytesOf(parts[4]);
    var sealed = new Uint8Array(ciphertext.length + tag.length);
    sealed.set(ciphertext);
    sealed.set(tag, ciphertext.length);
    var plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytesOf(parts[2]), additionalData: new TextEncoder().encode(parts[0]), tagLength: 128 },
      key,
      sealed
    );
    if (header.zip === "DEF") {
      var stream = new Blob([plain]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
      plain = await new Response(stream).arrayBuffer();
    }
    return JSON.parse(new TextDecoder().decode(plain));
  }

  // Reading FHIR ---------------------------------------------------------------------------------------

  function text(value) {
    return typeof value === "string" || typeof value === "number" ? String(value) : "";
  }

  function conceptText(concept) {
    if (!concept || typeof concept !== "object") return "";
    if (text(concept.text)) return text(concept.text);
    var codings = Array.isArray(concept.coding) ? concept.coding : [];
    for (var i = 0; i < codings.length; i += 1) {
      if (codings[i] && text(codings[i].display)) return text(codings[i].display);
    }
    return codings.length && codings[0] ? text(codings[0].code) : "";
  }

  function first(list) {
    return Array.isArray(list) && list.length ? list[0] : null;
  }

  function formatDate(value) {
    var match = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(text(value));
    if (!match) return "";
    try {
      if (match[3]) {
        return new Intl.DateTimeFormat(language, { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" })
          .format(new Date(Date.UTC(+match[1], +match[2] - 1, +match[3])));
      }
      if (match[2]) {
        return new Intl.DateTimeFormat(language, { year: "numeric", month: "short", timeZone: "UTC" })
          .format(new Date(Date.UTC(+match[1], +match[2] - 1, 1)));
      }
    } catch (error) {
      return match[0];
    }
    return match[1];
  }

  function quantity(value) {
    if (!value || typeof value !== "object" || value.value === undefined) return "";
    return [text(value.comparator) + text(value.value), text(value.unit) || text(value.code)].filter(Boolean).join(" ");
  }

  function observationValue(resource) {
    if (resource.valueQuantity) return quantity(resource.valueQuantity);
    if (resource.valueCodeableConcept) return conceptText(resource.valueCodeableConcept);
    if (typeof resource.valueBoolean === "boolean") return String(resource.valueBoolean);
    return text(resource.valueString) || text(resource.valueInteger);
  }

  function referenceRange(resource) {
    var range = first(resource.referenceRange);
    if (!range || typeof range !== "object") return "";
    if (text(range.text)) return text(range.text);
    var low = range.low ? quantity(range.low) : "";
    var high = range.high ? quantity(range.high) : "";
    if (low && high) return text(range.low.value) + "–" + high;
    return low ? "≥ " + low : high ? "≤ " + high : "";
  }

  function dateOf(resource) {
    var period = resource.effectivePeriod || resource.period || {};
    return text(
      resource.effectiveDateTime || resource.effectiveInstant || period.start || resource.occurrenceDateTime ||
      resource.authoredOn || resource.onsetDateTime || resource.recordedDate || resource.issued || resource.date
    );
  }

  function line(title, details) {
    return { title: title || t("unnamed"), details: details.filter(Boolean) };
  }

  var SECTIONS = [
    ["problems", ["Condition"], function (r) {
      return line(conceptText(r.code), [r.onsetDateTime ? t("since", { date: formatDate(r.onsetDateTime) }) : ""]);
    }],
    ["medications", ["MedicationRequest", "MedicationStatement"], function (r) {
      var dosage = first(r.dosageInstruction) || first(r.dosage) || {};
      var name = conceptText(r.medicationCodeableConcept) || text((r.medicationReference || {}).display);
      return line(name, [text(dosage.text), formatDate(r.authoredOn || r.effectiveDateTime)]);
    }],
    ["allergies", ["AllergyIntolerance"], function (r) {
      var reaction = first(r.reaction) || {};
      var manifestation = conceptText(first(reaction.manifestation));
      return line(conceptText(r.code), [manifestation ? t("reaction", { reaction: manifestation }) : ""]);
    }],
    ["immunizations", ["Immunization"], function (r) {
      return line(conceptText(r.vaccineCode), [formatDate(r.occurrenceDateTime || r.occurrenceString)]);
    }],
    ["results", ["Observation"], function (r) {
      var components = (Array.isArray(r.component) ? r.component : []).map(function (part) {
        return part ? [conceptText(part.code), observationValue(part)].filter(Boolean).join(" ") : "";
      });
      var range = referenceRange(r);
      return line(conceptText(r.code), [observationValue(r)].concat(components, [
        range ? t("range", { range: range }) : "", formatDate(dateOf(r))
      ]));
    }],
    ["visits", ["Encounter"], function (r) {
      var kind = conceptText(first(r.type)) || text((r["class"] || {}).display) || text((r["class"] || {}).code);
      var place = text((r.serviceProvider || {}).display) || text(((first(r.location) || {}).location || {}).display);
      return line(kind, [place, conceptText(first(r.reasonCode)), formatDate((r.period || {}).start)]);
    }]
  ];

  function element(tag, content, className) {
    var node = document.createElement(tag);
    if (content) node.textContent = content;
    if (className) node.className = className;
    return node;
  }

  function section(id, heading) {
    var box = element("section");
    var title = element("h2", heading);
    title.id = "shl-" + id;
    title.tabIndex = -1;
    box.setAttribute("aria-labelledby", title.id);
    box.appendChild(title);
    recordBox.appendChild(box);
    return box;
  }

  function personName(patient) {
    var name = first(patient.name) || {};
    if (text(name.text)) return text(name.text);
    var given = Array.isArray(name.given) ? name.given.map(text) : [];
    return given.concat([text(name.family)]).filter(Boolean).join(" ");
  }

  function render(bundle) {
    var resources = (Array.isArray(bundle && bundle.entry) ? bundle.entry : [])
      .map(function (entry) { return entry && entry.resource; })
      .filter(function (resource) { return resource && typeof resource === "object"; });
    recordBox.textContent = "";
    var shown = 0;
    var patients = resources.filter(function (r) { return r.resourceType === "Patient"; });
    shown += patients.length;
    var patientBox = section("patient", t("patient"));
    patients.slice(0, 1).forEach(function (patient) {
      patientBox.appendChild(element("p", personName(patient) || t("unnamed"), "lead"));
      if (patient.birthDate) patientBox.appendChild(element("p", t("born") + ": " + formatDate(patient.birthDate)));
    });
    if (!patients.length) patientBox.appendChild(element("p", t("none"), "muted"));
    SECTIONS.forEach(function (spec) {
      var rows = resources.filter(function (r) {
        return spec[1].indexOf(r.resourceType) >= 0 && r.status !== "entered-in-error";
      });
      shown += rows.length;
      rows.sort(function (a, b) { return dateOf(b).localeCompare(dateOf(a)); });
      var box = section(spec[0], t(spec[0]));
      if (!rows.length) {
        box.appendChild(element("p", t("none"), "muted"));
        return;
      }
      var list = element("ul", "", "record-list");
      rows.forEach(function (resource) {
        var item = spec[2](resource);
        var entry = element("li");
        entry.appendChild(element("strong", item.title));
        if (item.details.length) {
          entry.appendChild(document.createElement("br"));
          entry.appendChild(element("span", item.details.join(" · "), "muted"));
        }
        list.appendChild(entry);
      });
      box.appendChild(list);
    });
    if (resources.length > shown) recordBox.appendChild(element("p", t("others", { count: resources.length - shown }), "muted"));
    recordBox.hidden = false;
    var heading = document.getElementById("shl-patient");
    if (heading) heading.focus();
  }

  // Opening the link -----------------------------------------------------------------------------------

  var payload = null;

  async function fileContent(file) {
    if (typeof file.embedded === "string") return file.embedded;
    var response = await fetch(file.location, { credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" });
    if (response.status === 404) throw new Error("ended");
    if (!response.ok) throw new Error("failed");
    return response.text();
  }

  async function open(passcode) {
    problem("");
    say(t("loading"));
    var body = { recipient: RECIPIENT };
    if (passcode) body.passcode = passcode;
    var response;
    try {
      response = await fetch(payload.url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
        referrerPolicy: "no-referrer"
      });
    } catch (error) {
      return problem(t("failed"));
    }
    if (response.status === 401) {
      var answer = await response.json().catch(function () { return {}; });
      var left = typeof answer.remainingAttempts === "number" ? answer.remainingAttempts : 0;
      if (left <= 0) {
        form.hidden = true;
        return problem(t("ended"));
      }
      passcodeInput.value = "";
      passcodeInput.setAttribute("aria-invalid", "true");
      passcodeInput.focus();
      return problem(left === 1 ? t("wrong-passcode-one") : t("wrong-passcode-many", { count: left }));
    }
    if (response.status === 404) {
      form.hidden = true;
      return problem(t("ended"));
    }
    if (response.status === 429) return problem(t("too-many"));
    if (!response.ok) return problem(t("failed"));
    form.hidden = true;
    try {
      var manifest = await response.json();
      var files = (Array.isArray(manifest.files) ? manifest.files : []).filter(function (file) {
        return file && /^application\/fhir\+json/.test(text(file.contentType));
      });
      var keyBytes = bytesOf(payload.key);
      var bundles = [];
      for (var i = 0; i < files.length; i += 1) {
        bundles.push(await decrypt(await fileContent(files[i]), keyBytes));
      }
      var entries = [];
      bundles.forEach(function (bundle) {
        if (bundle && Array.isArray(bundle.entry)) entries = entries.concat(bundle.entry);
        else if (bundle && bundle.resourceType) entries.push({ resource: bundle });
      });
      say("");
      render({ entry: entries });
    } catch (error) {
      if (error && error.message === "ended") return problem(t("ended"));
      return problem(t("undecryptable"));
    }
  }

  function start() {
    try {
      payload = readPayload();
    } catch (error) {
      return problem(t("bad-link"));
    }
    if (!payload) return problem(t("no-link"));
    if (text(payload.label)) {
      labelLine.textContent = t("shared-as", { label: text(payload.label).slice(0, 80) });
      labelLine.hidden = false;
    }
    var manifestUrl;
    try {
      manifestUrl = new URL(payload.url);
    } catch (error) {
      return problem(t("bad-link"));
    }
    // The page may fetch only from its own origin (Content-Security-Policy connect-src 'self').
    if (manifestUrl.origin !== window.location.origin) return problem(t("other-service"));
    if (text(payload.flag).indexOf("P") >= 0) {
      document.getElementById("shl-passcode-help").textContent = t("passcode-needed");
      document.getElementById("shl-passcode-label").textContent = t("passcode-label");
      document.getElementById("shl-passcode-submit").textContent = t("passcode-submit");
      form.hidden = false;
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (passcodeInput.value) open(passcodeInput.value);
      });
      passcodeInput.focus();
      return;
    }
    open("");
  }

  start();
})();
