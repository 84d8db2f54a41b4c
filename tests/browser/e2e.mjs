// Browser end-to-end walk of the exlic web UI, in Debian's Chromium via playwright-core.
// Run by tests/tests/browser.rs, one phase at a time, while the Rust test starts and stops
// the real nodes between phases:
//   node e2e.mjs enterprise-draft   (authority down: new → 暂存 → fill → attach → seal error
//                                    → fix → 保存并盖章 → 上报; XSS payloads shown as text)
//   node e2e.mjs authority-review   (staff sign in; 初审 by 经办人, 复审 by 处长; the
//                                    directory published; 参考数据 shown, a bad file refused)
//   node e2e.mjs enterprise-licence (licence listed, verified, downloaded; a 删证申请;
//                                    certificate 续签 from request to 已完成)
//   node e2e.mjs customs-check      (an officer signs in at customs; an untouched form is
//                                    held by the browser; a wrong commodity refused with
//                                    its reason in Chinese; the licence file uploaded,
//                                    checked and reserved, then cancelled; the ledger)
//   node e2e.mjs authority-deletion (the 删证申请 approved in the staff UI)
//   node e2e.mjs enterprise-deleted (审核通过 and the licence deleted, on the enterprise)
//   node e2e.mjs enterprise-conflict (two devices' values of one field, one kept; run by
//                                    tests/tests/conflict.rs)
// Inputs come from the environment (ENT_URL, AUTH_URL, CUSTOMS_URL, SHOTS, STAFF_PASSWORD, OPERATOR,
// OPERATOR_PASSWORD, PIN, STATE);
// each phase prints one JSON line of results. Screenshots of every screen at 375 and
// 1280 px go to $SHOTS.
import { chromium } from "playwright-core";
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const SHOTS = env("SHOTS");
mkdirSync(SHOTS, { recursive: true });

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

let lastPage = null;

async function open(extra = {}) {
  const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "exlic-chromium-")), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    ignoreHTTPSErrors: true, // the authority's self-signed certificate
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    ...extra,
  });
  const page = ctx.pages()[0] || (await ctx.newPage());
  lastPage = page;
  page.setDefaultTimeout(20000);
  const alerts = [];
  page.on("dialog", async (d) => {
    if (d.type() === "alert") alerts.push(d.message());
    await d.accept();
  });
  page.on("pageerror", (e) => alerts.push(`page error: ${e.message}`));
  return { ctx, page, alerts };
}

// A screenshot of the current screen at phone and desktop width, with its language
// checked (`scanLanguage`); then the same address in the other language, in a second tab
// of the same session, checked and screenshotted as `<name>-en-…` (or `-zh-`).
async function shot(page, name) {
  for (const width of [375, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true });
  }
  await scanLanguage(page, name);
  await otherLanguage(page, name);
}

// What a page says in the wrong language, in its visible text, option labels,
// placeholders and button values: in Chinese, a rule id (V23), a field key in
// parentheses or an English word; in English, a Chinese character. User data is marked
// `translate="no"` and a deliberately bilingual label carries its own `lang`; both are
// left out, as are scripts, styles, commands (`<code>`) and `.mono` codes.
// Latin words a Chinese page may use: the product's name and units of size.
const ALLOWED_LATIN = new Set(["exlic", "mib", "kb", "mb"]);
async function languageFindings(page) {
  return page.evaluate((allowed) => {
    const docLang = document.documentElement.lang.startsWith("zh") ? "zh" : "en";
    const skipped = (el) => {
      if (!el) return true;
      if (el.closest('script, style, noscript, textarea, code, .mono, [translate="no"], svg')) return true;
      const tagged = el.closest("[lang]");
      return tagged && !tagged.lang.startsWith(docLang === "zh" ? "zh" : "en");
    };
    const texts = [];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const t = n.nodeValue.trim();
      if (t && !skipped(n.parentElement)) texts.push(t);
    }
    for (const el of document.querySelectorAll("[placeholder], input[type=submit][value], [aria-label]")) {
      if (skipped(el)) continue;
      for (const a of ["placeholder", "aria-label"]) if (el.getAttribute(a)) texts.push(el.getAttribute(a));
      if (el.matches("input[type=submit]")) texts.push(el.value);
    }
    const out = [];
    for (const t of texts) {
      if (docLang === "zh") {
        if (/\bV\d\d\b/.test(t)) out.push(`rule id: ${t}`);
        else if (/\([a-z]+(_[a-z]+)+\)|\([a-z_.\[\]0-9]+_[a-z]+\)/.test(t)) out.push(`field key: ${t}`);
        else {
          // File names (codes.json, .licence) and addresses are not words.
          const plain = t.replace(/[\w.-]*\.(json|licence|pdf|png|jpe?g)\b/g, " ").replace(/\S+@\S+/g, " ");
          const words = (plain.match(/[A-Za-z][A-Za-z']*/g) || []).filter((w) => /[a-z]/.test(w) && !allowed.includes(w.toLowerCase()));
          if (words.length) out.push(`English (${words.join(" ")}): ${t}`);
        }
      } else if (/[\u3400-\u9fff]/.test(t)) out.push(`Chinese: ${t}`);
    }
    return { lang: docLang, findings: [...new Set(out)] };
  }, [...ALLOWED_LATIN]);
}

async function scanLanguage(page, name) {
  const { lang, findings } = await languageFindings(page);
  check(findings.length === 0, `${name} speaks one language (${lang}): ${findings.slice(0, 8).join(" | ")}`);
}

// Opens the current address in a second tab in the other language (the session is
// shared; the language cookie is switched for that one load and put back), scans it and
// screenshots it. A screen that was the answer to a form (its address answers GET
// differently or not at all) is scanned as whatever GET shows there.
async function otherLanguage(page, name) {
  const ctx = page.context();
  const url = page.url();
  const origin = new URL(url).origin;
  const lang = await page.evaluate(() => (document.documentElement.lang.startsWith("zh") ? "zh" : "en"));
  const other = lang === "zh" ? "en" : "zh";
  const cookie = (value) => ({ name: "exlic_lang", value, url: origin + "/", secure: origin.startsWith("https"), httpOnly: true, sameSite: "Strict" });
  await ctx.addCookies([cookie(other)]);
  const tab = await ctx.newPage();
  try {
    // A POST-only address answers 405, which Chromium reports as a failed load.
    const resp = await tab.goto(url).catch(() => null);
    if (resp && resp.ok() && (await tab.evaluate(() => document.documentElement.lang)).startsWith(other === "zh" ? "zh" : "en")) {
      for (const width of [375, 1280]) {
        await tab.setViewportSize({ width, height: 900 });
        await tab.screenshot({ path: join(SHOTS, `${name}-${other}-${width}.png`), fullPage: true });
      }
      await scanLanguage(tab, `${name}-${other}`);
    }
  } finally {
    await tab.close();
    await ctx.addCookies([cookie(lang)]);
  }
}

// At 375 px: no horizontal scrolling, no licence/application number or code (`.mono`,
// `.nowrap` in a cell) broken over lines or past the screen's edge, every button inside
// the screen. Restores the desktop width.
async function fitsPhone(page, what) {
  await page.setViewportSize({ width: 375, height: 900 });
  const bad = await page.evaluate(() => {
    const out = [];
    const w = window.innerWidth;
    if (document.documentElement.scrollWidth > w + 1) out.push(`the page is ${document.documentElement.scrollWidth}px wide`);
    for (const el of document.querySelectorAll("td .mono, td.nowrap, td .nowrap")) {
      const text = el.textContent.trim().slice(0, 40);
      if (el.tagName !== "TD" && el.getClientRects().length > 1) out.push(`broken over lines: ${text}`);
      if (el.getBoundingClientRect().right > w + 1) out.push(`past the edge: ${text}`);
    }
    // Regression: goods and history tables squeezed into a scrolling box on a phone.
    for (const t of document.querySelectorAll("main .table-wrap")) {
      if (t.scrollWidth > t.clientWidth + 1) out.push(`a table scrolls sideways: ${(t.querySelector("table")?.id || t.textContent.trim().slice(0, 30))}`);
    }
    for (const b of document.querySelectorAll("main button, main a.button")) {
      const r = b.getBoundingClientRect();
      if (r.width > 0 && r.right > w + 1) out.push(`button off-screen: ${b.textContent.trim()}`);
    }
    return out;
  });
  await page.setViewportSize({ width: 1280, height: 900 });
  check(bad.length === 0, `${what} fits a phone: ${bad.join("; ")}`);
}

// Signs in to the enterprise node: every page but the sign-in page needs a session, and
// the page asked for comes back after signing in.
async function entSignIn(page, ENT, path = "/") {
  await page.goto(ENT + path);
  check(await page.getByRole("heading", { name: "登录" }).isVisible(), "the enterprise node asks who is there");
  await page.getByLabel("用户名").fill(env("OPERATOR"));
  await page.getByLabel("密码").fill(env("OPERATOR_PASSWORD"));
  await page.getByRole("button", { name: "登录" }).click();
  await page.waitForURL(ENT + path);
}

async function enterpriseDraft() {
  const ENT = env("ENT_URL");
  const { ctx, page, alerts } = await open();
  await page.goto(ENT + "/");
  await shot(page, "ent-00-sign-in");
  // A wrong password is refused, in Chinese, and names nothing.
  await page.getByLabel("用户名").fill(env("OPERATOR"));
  await page.getByLabel("密码").fill("not-the-password");
  await page.getByRole("button", { name: "登录" }).click();
  check(await page.getByText("用户名或密码错误").isVisible(), "a wrong password is refused");
  await entSignIn(page, ENT);
  check(await page.locator("#sync-status").innerText().then((t) => t.includes("离线")), "the status bar says offline");
  await shot(page, "ent-01-home");
  await page.getByRole("link", { name: "许可证申请" }).first().click();
  await shot(page, "ent-02-applications");
  await page.getByRole("link", { name: "新增" }).click();
  await shot(page, "ent-03-new");
  // 暂存 with little filled in: a draft keeps what it has.
  // 暂存 keeps anything typed, a mistyped number too: formats are checked at 保存并盖章.
  await page.getByLabel(/^合同号/).first().fill("XM-CA-0096");
  await page.locator('[name="goods[0].quantity"]').fill("23吨");
  await page.getByRole("button", { name: "暂存" }).click();
  await page.waitForURL(/\/applications\/[0-9a-f-]+\/edit/);
  check(await page.getByText("已暂存").isVisible(), "the draft is saved");
  check((await page.locator('[name="goods[0].quantity"]').inputValue()) === "23吨", "a mistyped quantity is kept as typed");
  const editUrl = page.url();

  // Every field, as a user fills the form.
  const year = String(new Date().getFullYear());
  const fill = async (name, value) => page.locator(`[name="${name}"]`).fill(value);
  const pick = async (name, value) => page.locator(`[name="${name}"]`).selectOption(value);
  await fill("exporter_code", "913502000728319549");
  await fill("consignor_code", "3502960012345");
  await pick("trade_mode", "general");
  await pick("customs_district", "3700");
  await pick("country", "JPN");
  // 付款方式 is left empty on purpose: 保存并盖章 must name it (V23).
  await pick("transport_mode", "sea");
  await fill("commodity_code", "2918140000");
  await pick("currency", "USD");
  await pick("price_term", "FOB");
  await fill("quota_year", year);
  await pick("batch_mode", "single");
  await fill("goods[0].spec", "无水柠檬酸 BP2013 30-100目");
  await pick("goods[0].unit", "t");
  await fill("goods[0].quantity", "23");
  await fill("goods[0].unit_price", "1250");
  await fill("goods[1].spec", "一水柠檬酸 E330");
  await pick("goods[1].unit", "t");
  await fill("goods[1].quantity", "1.5");
  await fill("goods[1].unit_price", "1180.25");
  check((await page.locator("[data-total]").innerText()) === "30520.38", "totals are computed live");
  await fill("remarks", "分两批装运");
  await fill("additional_info", "25kg 纸塑复合袋包装");
  await fill("contract.contract_no", "XM-CA-0096");
  await fill("contract.signed_on", `${year}-01-15`);
  await fill("contract.signed_at", "厦门");
  await fill("contract.buyer_name", "Osaka Food Ingredients Co., Ltd.");
  await fill("contract.buyer_address", "1-2-3 Umeda, Kita-ku, Osaka");
  await pick("contract.buyer_country", "JPN");
  await fill("contract.total_amount", "30520.38");
  await pick("contract.currency", "USD");
  await fill("contract.delivery_by", `${year}-12-28`);
  await fill("contract.notes", "信用证即期");
  await page.getByRole("button", { name: "暂存" }).click();
  await page.waitForURL(/edit\?msg=flash.saved/);

  // Two attachments at once.
  await page.locator("#att-files").setInputFiles([
    { name: "合同.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4 contract " + "x".repeat(3000)) },
    { name: "发票.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4 invoice " + "y".repeat(2000)) },
  ]);
  await page.getByRole("button", { name: "上传附件" }).click();
  await page.waitForURL(/msg=flash.uploaded/);
  check(await page.getByRole("link", { name: "合同.pdf" }).isVisible(), "the first attachment is listed");
  check(await page.getByRole("link", { name: "发票.pdf" }).isVisible(), "the second attachment is listed");
  await shot(page, "ent-04-filled");
  // On a phone each goods line is a card: the description gets the screen's width.
  await fitsPhone(page, "the application form");
  await page.setViewportSize({ width: 375, height: 900 });
  const specWidth = await page.locator('[name="goods[0].spec"]').evaluate((e) => e.getBoundingClientRect().width);
  await page.setViewportSize({ width: 1280, height: 900 });
  check(specWidth > 250, `the goods description is wide enough to read at 375 px: ${specWidth}px`);

  // 保存并盖章 shows the one error beside its field and in the summary.
  await page.getByRole("button", { name: "保存并盖章" }).click();
  await page.locator("#error-summary").waitFor();
  const summary = await page.locator("#error-summary").innerText();
  check(summary.includes("(1)") && summary.includes("付款方式"), `one error, 付款方式: ${summary}`);
  check(!/V\d\d/.test(summary) && !summary.includes("payment_mode") && summary.includes("必填"), `Chinese, no rule id or field key on the page: ${summary}`);
  check((await page.locator('[name="payment_mode"]').getAttribute("aria-invalid")) === "true", "the field is marked invalid");
  check(await page.locator("#e-payment_mode").isVisible(), "the error sits beside its field");
  await shot(page, "ent-05-seal-error");
  await page.locator('[name="payment_mode"]').selectOption("lc");
  await page.getByRole("button", { name: "保存并盖章" }).click();
  // The e-key asks for its PIN; a wrong one is refused and counted.
  await page.waitForURL(/\/seal$/);
  await shot(page, "ent-05b-seal-confirm");
  await page.getByLabel("电子钥匙 PIN").fill("wrong-pin-000");
  await page.getByRole("button", { name: "确认盖章" }).click();
  check(await page.getByText("PIN 错误").isVisible(), "a wrong PIN is refused");
  check(await page.getByText("已连续输错次数： 1").isVisible(), "and counted");
  await page.getByLabel("电子钥匙 PIN").fill(env("PIN"));
  await page.getByRole("button", { name: "确认盖章" }).click();
  await page.locator("#sealed-no").waitFor();
  const appNo = (await page.locator("#sealed-no").innerText()).trim();
  check(/^\d{21}$/.test(appNo), `a 21-digit 申请表号: ${appNo}`);
  await shot(page, "ent-06-sealed");
  const appId = page.url().match(/applications\/([0-9a-f-]+)/)[1];

  // 上报 while the authority is down: queued, not yet 待初审.
  await page.getByRole("button", { name: "上报" }).click();
  await page.waitForURL(/msg=flash.reported/);
  check(await page.locator(".badge.queued").first().isVisible(), "status 上报中 until the receipt is back");
  await fitsPhone(page, "the application page");
  await shot(page, "ent-07-reported");

  // Script payloads are shown as text, never run.
  const payload = `<script>alert("xss")</script><img src=x onerror=alert(2)>`;
  await page.goto(ENT + "/applications/new");
  await page.locator('[name="exporter_name"]').fill(payload);
  await page.locator('[name="remarks"]').fill(payload);
  await page.getByRole("button", { name: "暂存" }).click();
  await page.waitForURL(/edit/);
  const xssId = page.url().match(/applications\/([0-9a-f-]+)/)[1];
  await page.goto(`${ENT}/applications/${xssId}`);
  check((await page.locator("main").innerText()).includes(payload), "the payload is visible as text");
  check((await page.locator("main img[src=x]").count()) === 0, "no injected element");

  // Drafts are told apart by 合同号 (else the goods) and deleted from the list.
  await page.goto(ENT + "/applications?status=draft");
  const drafts = await page.locator("#applications").innerText();
  check(drafts.includes("草稿") && !drafts.includes("未编号"), `drafts are titled: ${drafts}`);
  check(/共 1 件/.test(await page.locator("#pager").innerText()), "the list counts its rows");
  await fitsPhone(page, "the draft list");
  await shot(page, "ent-07b-drafts");
  await page.locator("#applications").getByRole("button", { name: /删除/ }).first().click();
  await page.waitForURL(/msg=flash.deleted/);
  check(await page.getByText("没有符合条件的记录").first().isVisible(), `the draft is gone: ${await page.locator("main").innerText()}`);

  // The list with partial-number search, 查询 with every filter, the English switch.
  await page.goto(ENT + "/applications?application_no=" + appNo.slice(-6));
  check(await page.getByRole("link", { name: appNo }).isVisible(), "partial-number search finds it");
  check((await page.locator("#applications tbody tr").first().innerText()).startsWith("1"), "rows are numbered (序号)");
  await fitsPhone(page, "the application list");
  await shot(page, "ent-08-search");
  await page.goto(ENT + "/query");
  // Regression: every empty box was pre-filled with "None", and submitting the form
  // untouched sent it back as a filter.
  const noneBoxes = () => page.locator("form.search input").evaluateAll((xs) => xs.filter((x) => x.value === "None").length);
  check((await noneBoxes()) === 0, "no search box is pre-filled with None");
  await page.locator("form.search").getByRole("button").click();
  await page.waitForURL(/\/query\?/);
  check((await noneBoxes()) === 0, "after an untouched search no box says None");
  check(await page.getByRole("link", { name: appNo }).isVisible(), "an untouched search lists the applications");
  {
    // 查询 with each filter alone, taking the values from the listed application.
    const cells = await page.locator("#applications tbody tr").first().locator("td").allInnerTexts();
    const [status, year, created] = [cells[2].trim().split(/\s/)[0], cells[6].trim(), cells[7].trim().slice(0, 10)];
    const has = (r) => r.includes(appNo);
    await tryFilters(page, "查询", "form.search", "#applications", [
      { name: "application number", set: (p) => p.locator("#q-no").fill(appNo.slice(-6)), matches: has },
      { name: "status", set: (p) => p.locator("#q-status").selectOption({ label: status }), matches: (r) => r.includes(status) },
      { name: "quota year", set: (p) => p.locator("#q-year").fill(year), matches: (r) => r.includes(year) },
      { name: "from", set: (p) => p.locator("#q-from").fill(created), matches: has },
      { name: "to", set: (p) => p.locator("#q-to").fill(created), matches: has },
      { name: "commodity code", set: (p) => p.locator("#q-cc").fill("2918140000"), matches: (r) => r.includes("2918140000") },
      { name: "trade mode", set: (p) => p.locator("#q-tm").selectOption({ label: "一般贸易" }), matches: (r) => r.includes("一般贸易") },
    ], (p) => p.locator("#q-cc").fill("0101210010"));
  }
  await shot(page, "ent-09-query");
  await page.getByRole("button", { name: "English" }).click();
  await page.waitForURL(/\/query/);
  check(await page.getByRole("heading", { name: "Search" }).isVisible(), "English labels");
  await shot(page, "ent-10-english");
  await page.goto(ENT + "/");
  check(await page.getByRole("link", { name: "Applications" }).first().isVisible(), "the language choice persists");
  await page.getByRole("button", { name: "中文" }).click();
  await page.goto(`${ENT}/certificate`);
  await shot(page, "ent-11-certificate");
  await page.goto(`${ENT}/verify`);
  await shot(page, "ent-12-verify");
  // Keyboard: the skip link is the first stop and focus is visible.
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement.classList.contains("skip")), "the skip link takes the first Tab");
  check(alerts.length === 0, `no script ran: ${alerts}`);
  await ctx.close();
  return { app_id: appId, app_no: appNo, edit_url: editUrl };
}

// A list's filter form used as a clerk would: submitted untouched it lists what the page
// listed; each filter alone (`set` fills it in) lists only rows `matches` accepts; a
// filter nothing matches says so in words. No box ever reads None.
async function tryFilters(page, what, form, table, filters, nothing, url = page.url().split("?")[0]) {
  const rows = () => page.locator(`${table} tbody tr`).allInnerTexts();
  const noNone = async () => check((await page.locator(`${form} input`).evaluateAll(
    (xs) => xs.filter((x) => x.value === "None").length)) === 0, `${what}: no box reads None`);
  await page.goto(url);
  const all = (await rows()).length;
  await page.locator(`${form} button[type="submit"]`).click();
  await page.waitForLoadState();
  await noNone();
  check((await rows()).length === all && all > 0, `${what}: an untouched search lists all ${all} rows`);
  for (const f of filters) {
    await page.goto(url);
    await f.set(page);
    await page.locator(`${form} button[type="submit"]`).click();
    await page.waitForLoadState();
    await noNone();
    const got = await rows();
    check(got.length > 0 && got.every(f.matches), `${what}: ${f.name} lists only matching rows: ${got.slice(0, 3)}`);
  }
  await page.goto(url);
  await nothing(page);
  await page.locator(`${form} button[type="submit"]`).click();
  await page.waitForLoadState();
  check((await page.locator("main").innerText()).includes("没有符合条件的记录"), `${what}: a search that matches nothing says so`);
  await page.goto(url);
}

async function signIn(page, AUTH, login) {
  await page.goto(AUTH + "/login");
  await page.getByLabel("用户名").fill(login);
  await page.getByLabel("密码").fill(env("STAFF_PASSWORD"));
  await page.getByRole("button", { name: "登录" }).click();
  await page.waitForURL(AUTH + "/");
}

async function authorityReview() {
  const AUTH = env("AUTH_URL");
  const state = JSON.parse(env("STATE"));
  const { ctx, page, alerts } = await open();
  await page.goto(AUTH + "/cases");
  await page.waitForURL(/\/login/);
  await shot(page, "auth-01-login");
  // A wrong password is refused with a message.
  await page.getByLabel("用户名").fill("wang");
  await page.getByLabel("密码").fill("not-the-password");
  await page.getByRole("button", { name: "登录" }).click();
  check(await page.getByText("用户名或密码错误").isVisible(), "a wrong password is refused");
  await signIn(page, AUTH, "wang");
  await shot(page, "auth-02-dashboard");
  // The daily chart: a row per day, each figure printed beside its bar, legible at 375 px.
  const days = await page.locator("#daily tbody tr").count();
  check(days === 14, `a row per day of the fortnight: ${days}`);
  const today = await page.locator("#daily tbody tr").first().innerText();
  check(/\b1\b/.test(today), `today's submission is counted: ${today}`);
  check((await page.locator("#daily rect.r").first().getAttribute("width")) === "100", "the largest figure fills its bar");
  await fitsPhone(page, "the dashboard");
  await page.goto(AUTH + "/cases?status=pending_initial");
  const row = await page.locator("#inbox tbody tr").first().innerText();
  check(row.includes("厦门") && row.includes("柠檬酸") && row.includes("吨") && row.includes("工作日"),
    `an inbox row names the company, the goods, the quantity and the wait: ${row}`);
  check((await page.locator("#pager").innerText()).includes("第 1 / 1 页"), "the inbox is paged");
  await page.goto(AUTH + "/cases?status=pending_initial&page=x");
  check((await page.locator("main").innerText()).includes("页码"), "a bad page number is named in Chinese");
  await page.goto(AUTH + "/cases?status=pending_initial");
  await shot(page, "auth-03-inbox");
  await tryFilters(page, "the inbox", "#inbox-filter", "#inbox", [
    { name: "USCC", set: (p) => p.locator("#i-ent").fill("91350200"), matches: (r) => r.includes("913502") },
    { name: "company name", set: (p) => p.locator("#i-ent").fill("厦门"), matches: (r) => r.includes("厦门") },
    { name: "commodity code", set: (p) => p.locator("#i-cc").fill("2918"), matches: (r) => r.includes("2918") },
  ], (p) => p.locator("#i-cc").fill("0101"), AUTH + "/cases?status=pending_initial");
  await page.getByRole("link", { name: state.app_no }).click();
  check(await page.getByText("印章有效").isVisible(), "the seal verifies");
  await fitsPhone(page, "the case page");
  await shot(page, "auth-04-case");
  // A refusal without a reason: the error at the form, in Chinese, the case still there.
  await page.getByRole("button", { name: "初审不予通过" }).click();
  const why = await page.locator("#decision-error").innerText();
  check(why.includes("理由") && !/reason|field/i.test(why), `a refusal without a reason is named in place: ${why}`);
  check(await page.getByText("印章有效").isVisible(), "the case is still on the page");
  await page.getByRole("button", { name: "初审通过" }).click();
  await page.waitForURL(/msg=flash.decided/);
  check((await page.locator("#case-status").innerText()).includes("待复审"), "初审通过 → 待复审");
  await page.getByRole("button", { name: /退出/ }).click();
  await page.waitForURL(/\/login/);

  await signIn(page, AUTH, "li");
  await page.goto(AUTH + "/cases?status=pending_second");
  await page.getByRole("link", { name: state.app_no }).click();
  await shot(page, "auth-05-second-review");
  // The decision comes after the case's content; issuing asks for confirmation first.
  const order = await page.evaluate(() => {
    const at = (sel) => document.querySelector(sel)?.getBoundingClientRect().top ?? -1;
    return { decide: at("#decide-h"), goods: at("main table"), seal: at("#seal-h") };
  });
  check(order.decide > order.seal && order.decide > order.goods, `the decision form is below the content: ${JSON.stringify(order)}`);
  await page.getByRole("button", { name: "复审通过并发证" }).click();
  check(await page.locator("#confirm-issue").isVisible(), "issuing asks for confirmation");
  check((await page.locator("#case-status").innerText()).includes("待复审"), "nothing is issued before confirming");
  await shot(page, "auth-05b-confirm-issue");
  await page.getByRole("button", { name: "确认发证" }).click();
  await page.waitForURL(/msg=flash.decided/);
  check((await page.locator("#case-status").innerText()).includes("已发证"), "复审通过 → 已发证");
  const licenceNo = (await page.locator('a[href^="/licences/"]').first().innerText()).trim();
  await page.locator('a[href^="/licences/"]').first().click();
  check((await page.locator("#licence-check").innerText()).includes("验证通过"), "the licence verifies");
  await shot(page, "auth-06-licence");
  for (const [path, name] of [["/licences", "auth-07-licences"], ["/audit", "auth-08-audit"],
    ["/invites", "auth-09-invites"], ["/cert-requests", "auth-10-certificates"], ["/verify", "auth-11-verify"],
    ["/unlocks", "auth-15-unlocks"], ["/profiles", "auth-16-profiles-empty"]]) {
    await page.goto(AUTH + path);
    await fitsPhone(page, path);
    await shot(page, name);
  }
  await page.goto(AUTH + "/licences");
  check((await page.locator("#pager").innerText()).includes("共 1 件"), "the licence list counts its rows");
  await tryFilters(page, "the office's licences", "form.search", "#licences", [
    { name: "licence number", set: (p) => p.locator("#l-no").fill(licenceNo.slice(-6)), matches: (r) => r.includes(licenceNo) },
  ], (p) => p.locator("#l-no").fill("000000000000"));
  check((await page.locator("body").innerText()).length > 0, "pages render");
  await page.goto(AUTH + "/audit");
  const audit = await page.locator("main").innerText();
  check(audit.includes("初审通过") && audit.includes("复审通过") && audit.includes("127.0.0.1"), "decisions are in the audit trail with the address");
  // The administrator publishes the directory and guides for every enterprise.
  await page.getByRole("button", { name: /退出/ }).click();
  await page.waitForURL(/\/login/);
  await signIn(page, AUTH, "admin");
  await page.goto(AUTH + "/directory");
  await page.locator("#d-contacts").fill("商务部配额许可证事务局 | 北京市东城区东长安街2号 | 010-65197414 | 工作日 9:00-17:00");
  await page.locator("#d-guides").fill("## 出口许可证申领流程\n新增 → 暂存 → 保存并盖章 → 上报。\n\n发证机构初审、复审后签发电子许可证。");
  await shot(page, "auth-13-directory");
  await page.getByRole("button", { name: "保存并发布" }).click();
  await page.waitForURL(/msg=flash.published/);
  // 参考数据: the release in force; a bad catalogue file is refused by name and rule, and
  // nothing is published.
  await page.goto(AUTH + "/reference");
  check((await page.locator("main").innerText()).includes("R1"), "the release in force is shown");
  await shot(page, "auth-17-reference");
  await page.setInputFiles('input[name="file"]', { name: "catalogue-2031.json", mimeType: "application/json",
    buffer: Buffer.from('{"year":2031,"source":"公告","entries":[{"code":"123","name":"x","name_en":"x","unit":"kg"}]}') });
  await page.getByRole("button", { name: "发布新版本" }).click();
  await page.waitForLoadState();
  const refused = await page.locator('[role="alert"]').innerText();
  check(refused.includes("未发布") && refused.includes("catalogue-2031.json") && refused.includes("10 digits"), `a bad file is refused: ${refused}`);
  check(!(await page.locator("main").innerText()).includes("R2"), "nothing was published");
  await shot(page, "auth-18-reference-refused");
  // The signing keys' page, and the audit trail with the day's sign-ins and decisions.
  await page.goto(AUTH + "/keys");
  await shot(page, "auth-19-keys");
  await page.goto(AUTH + "/audit");
  const trail = await page.locator("#audit").innerText();
  check(trail.includes("复审通过并发证") && trail.includes("登录成功"), `the audit trail in Chinese: ${trail.slice(0, 300)}`);
  await fitsPhone(page, "the audit trail");
  check(/第 1 \/ 1 页，共 \d+ 件/.test(await page.locator("#pager").innerText()), "the audit trail counts its rows");
  await shot(page, "auth-20-audit-admin");
  const day = (await page.locator("#audit tbody tr td").nth(1).innerText()).slice(0, 10);
  await tryFilters(page, "the office's audit trail", "#audit-filter", "#audit", [
    { name: "who", set: (p) => p.locator("#a-actor").fill("ADMIN"), matches: (r) => r.includes("admin") },
    { name: "action", set: (p) => p.locator("#a-action").selectOption({ label: "登录" }), matches: (r) => r.includes("登录") },
    { name: "from", set: (p) => p.locator("#a-from").fill(day), matches: (r) => r.includes(day) },
    { name: "to", set: (p) => p.locator("#a-to").fill(day), matches: (r) => r.includes(day) },
  ], (p) => p.locator("#a-actor").fill("nobody-by-this-name"));
  await page.goto(AUTH + "/audit?from=2026-13-40");
  check((await page.locator("#audit-error").innerText()).includes("起始日期"), "a bad date is named in place");
  await shot(page, "auth-21-audit-filtered");
  check(alerts.length === 0, `no script errors: ${alerts}`);
  await ctx.close();
  return { licence_no: licenceNo };
}

async function enterpriseLicence() {
  const ENT = env("ENT_URL");
  const state = JSON.parse(env("STATE"));
  const { ctx, page, alerts } = await open();
  await entSignIn(page, ENT);
  // The overview: applications by status, and the licence if it expires within 30 days.
  await page.goto(ENT + "/");
  const dash = await page.locator("#dashboard").innerText();
  check(/1\s*已发证/.test(dash), `the overview counts the issued application: ${dash}`);
  check(dash.includes(state.licence_no) || dash.includes("天内没有到期的有效许可证"), `the overview lists licences expiring soon: ${dash}`);
  await shot(page, "ent-01b-overview");
  await fitsPhone(page, "the overview");
  await page.goto(ENT + "/licences");
  await fitsPhone(page, "the licence list");
  check(await page.getByRole("button", { name: "复制" }).first().isVisible(), "复制 where the browser can copy");
  await shot(page, "ent-13-licences");
  await tryFilters(page, "the licence list", "form.search", "#licences", [
    { name: "licence number", set: (p) => p.locator("#l-no").fill(state.licence_no.slice(-5)), matches: (r) => r.includes(state.licence_no) },
  ], (p) => p.locator("#l-no").fill("000000000000"));
  {
    // Without JavaScript there is no 复制 that does nothing; the number is there to select.
    const nojs = await open({ javaScriptEnabled: false });
    await entSignIn(nojs.page, ENT, "/licences");
    check(await nojs.page.getByRole("link", { name: state.licence_no }).isVisible(), "the licence is listed without JavaScript");
    check((await nojs.page.getByRole("button", { name: "复制" }).count()) === 0 || !(await nojs.page.getByRole("button", { name: "复制" }).first().isVisible()), "no dead 复制 button without JavaScript");
    await nojs.ctx.close();
  }
  await page.getByRole("link", { name: state.licence_no }).click();
  check((await page.locator("#licence-check").innerText()).includes("验证通过"), "the licence verifies on the enterprise node");
  check((await page.locator(".qr svg").count()) === 1, "a QR code");
  // The paper form: its bilingual title and boxes 1–21 in the form's order, names not codes.
  const form = await page.locator("#licence-form").innerText();
  check(form.includes("中华人民共和国出口许可证") && form.includes("EXPORT LICENCE OF THE PEOPLE'S REPUBLIC OF CHINA"), "the form's title in both languages");
  const boxes = [...form.matchAll(/(?:^|\n|\s)(\d{1,2})\. /g)].map((m) => Number(m[1]));
  check(JSON.stringify(boxes) === JSON.stringify([1, 3, 2, 4, 5, 8, 6, 9, 7, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]), `boxes 1–21 in the form's order: ${boxes}`);
  const values = (await page.locator("#licence-form .lf-value, #licence-form tr.lf-goods td").allInnerTexts()).join(" | ");
  check(values.includes("一般贸易") && values.includes("吨") && values.includes("信用证") && !/\b(general|lc|sea|t|USD)\b/.test(values), `names, not codes, in the form's values: ${values}`);
  check(form.includes("单价（美元）"), "the currency by name in the Chinese label");
  await fitsPhone(page, "the licence page");
  await shot(page, "ent-14-licence");
  const dir = mkdtempSync(join(tmpdir(), "exlic-dl-"));
  // Printed from the browser: one A4 page.
  await page.emulateMedia({ media: "print" });
  const printed = join(dir, "printed.pdf");
  await page.pdf({ path: printed, format: "A4" });
  await page.emulateMedia({ media: "screen" });
  // The node's own PDF.
  const [pdfDownload] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "下载电子许可证（PDF）" }).click(),
  ]);
  const pdf = join(dir, "licence.pdf");
  await pdfDownload.saveAs(pdf);
  check(pdfDownload.suggestedFilename() === `${state.licence_no}.pdf`, `the PDF is named by the licence: ${pdfDownload.suggestedFilename()}`);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: /下载签名文件/ }).click(),
  ]);
  const file = join(dir, "licence.licence");
  await download.saveAs(file);
  await page.goto(ENT + "/verify");
  await page.locator("#v-file").setInputFiles(file);
  await page.getByRole("button", { name: "验证" }).click();
  check((await page.locator("#verify-result").innerText()).includes("验证通过"), "the downloaded file verifies");
  await shot(page, "ent-15-verified");
  // A tampered copy is refused.
  const bytes = readFileSync(file);
  bytes[bytes.length - 5] ^= 1;
  const tampered = file + ".tampered";
  writeFileSync(tampered, bytes);
  await page.locator("#v-file").setInputFiles(tampered);
  await page.getByRole("button", { name: "验证" }).click();
  check((await page.locator("#verify-result").innerText()).includes("验证失败"), "a tampered file is refused");

  // 删证申请: the licence number fills the read-only fields from the licence held here.
  await page.goto(ENT + "/licence-requests?kind=delete");
  await shot(page, "ent-16-deletions");
  await page.getByRole("link", { name: "新增" }).click();
  await page.getByLabel(/^出口许可证号/).fill("26ZZ000000");
  await page.getByRole("button", { name: "查询并填充" }).click();
  check(await page.locator("#licence-request-error").isVisible(), "an unknown licence number is refused with a reason");
  await page.getByLabel(/^出口许可证号/).fill(state.licence_no);
  await page.getByRole("button", { name: "查询并填充" }).click();
  check((await page.locator("#r-exporter_uscc").inputValue()) === "913502000728319549", "the 统一社会信用代码 is filled");
  check((await page.locator("#r-expiry").getAttribute("readonly")) !== null, "filled fields are read-only");
  await shot(page, "ent-17-deletion-new");
  await page.getByRole("button", { name: "保存" }).click();
  await page.waitForURL(/msg=flash.licence_request_saved/);
  check((await page.locator("#licence-requests").innerText()).includes("待审核"), "the request waits for review");
  await shot(page, "ent-18-deletion-saved");
  await tryFilters(page, "the deletion requests", "form.search", "#licence-requests", [
    { name: "licence number", set: (p) => p.locator("#r-no").fill(state.licence_no.slice(-5)), matches: (r) => r.includes(state.licence_no) },
  ], (p) => p.locator("#r-no").fill("000000000000"), ENT + "/licence-requests?kind=delete");

  // 企业信息维护: the §6.1 profile, each error beside its field, then saved (待审核).
  await page.goto(ENT + "/profile");
  const prof = {
    enterprise_code: "3502960012345", registered_address: "厦门市思明区湖滨南路1号", applicant_name: "张鑫",
    applicant_sex: "男", id_type: "身份证", id_number: "350203199001011234", login_name: "zhangxin@example.com",
    email: "zhangxin-at-example", contact_address: "厦门市思明区湖滨南路1号", mobile: "13800138000",
    department: "外贸部", title: "经理", work_address: "厦门市思明区湖滨南路1号", postcode: "361000",
  };
  for (const [k, v] of Object.entries(prof)) {
    const box = page.locator(`#p-${k}`);
    if ((await box.evaluate((el) => el.tagName)) === "SELECT") await box.selectOption(v);
    else await box.fill(v);
  }
  await page.getByRole("button", { name: "保存" }).click();
  check((await page.locator("#p-email").getAttribute("aria-invalid")) === "true", "a bad email is named");
  const emailError = await page.locator("#pe-email").innerText();
  check(emailError.includes("电子邮箱") && !/must|address/.test(emailError), `the email's error in Chinese: ${emailError}`);
  await shot(page, "ent-19-profile-error");
  await page.locator("#p-email").fill("zhangxin@example.com");
  await page.getByRole("button", { name: "保存" }).click();
  await page.waitForURL(/msg=flash.profile_saved/);
  check((await page.locator("#profile-status").innerText()).includes("待审核"), "the profile waits for the office");

  // 手机证书授权: 续签, from request to 已完成.
  await page.goto(ENT + "/certificate");
  check(await page.locator("#my-certificate").isVisible(), "查看本机证书");
  await page.getByRole("link", { name: "续签" }).click();
  check((await page.locator("#profile-confirm").innerText()).includes("张鑫"), "the profile is shown for confirmation");
  await shot(page, "ent-20-cert-request");
  await page.getByLabel("新授权手机号码").fill("13800138000");
  await page.getByRole("button", { name: "授权" }).click();
  check(await page.getByText("提交后信息将不能做更改").isVisible(), "the confirmation says what submitting means");
  await shot(page, "ent-21-cert-confirm");
  await page.getByLabel("电子钥匙 PIN 码").fill(env("PIN"));
  await page.getByRole("button", { name: "我已检查并确认提交" }).click();
  await page.waitForURL(/msg=flash.cert_prepared/);
  check((await page.locator("#cert-history tbody tr").first().innerText()).includes("请求待提交"), "请求待提交 until 提交");
  await page.getByRole("link", { name: "提交", exact: true }).first().click();
  check(await page.getByText("确定要提交申请吗？").isVisible(), "提交 asks 确定要提交申请吗？");
  await page.getByRole("button", { name: "确认提交" }).click();
  await page.waitForURL(/msg=flash.cert_submitted/);
  const deadline = Date.now() + 60000;
  for (;;) {
    const row = await page.locator("#cert-history tbody tr").first().innerText();
    if (row.includes("续签") && row.includes("已完成")) break;
    check(Date.now() < deadline, `the renewal reaches 已完成: ${row}`);
    await page.waitForTimeout(1000);
    await page.reload();
  }
  await shot(page, "ent-22-cert-done");
  check(alerts.length === 0, `no script errors: ${alerts}`);
  await ctx.close();
  // The QR code as the exporter's phone (3 device pixels a CSS pixel) shows it to customs.
  const phone = await open({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 3 });
  await entSignIn(phone.page, ENT, "/licences");
  await phone.page.getByRole("link", { name: state.licence_no }).click();
  const qr = join(mkdtempSync(join(tmpdir(), "exlic-qr-")), "qr.png");
  await phone.page.locator(".qr svg").screenshot({ path: qr });
  await phone.ctx.close();
  return { licence_no: state.licence_no, licence_file: file, qr_png: qr, licence_pdf: pdf, printed_pdf: printed };
}

async function authorityDeletion() {
  const AUTH = env("AUTH_URL");
  const state = JSON.parse(env("STATE"));
  const { ctx, page, alerts } = await open();
  await signIn(page, AUTH, "wang");
  await page.getByRole("link", { name: "删证/核销申请" }).first().click();
  check((await page.locator("main").innerText()).includes(state.licence_no), "the deletion is in 待审核");
  await shot(page, "auth-12-deletions");
  await page.getByRole("button", { name: "审核通过" }).first().click();
  await page.waitForURL(/msg=flash.decided/);
  await page.goto(AUTH + "/licence-requests?status=approved");
  check((await page.locator("main").innerText()).includes(state.licence_no), "the deletion is approved");
  // 手机证书授权 records by enterprise and standing.
  await page.goto(AUTH + "/cert-requests");
  const uscc = (await page.locator("#cert-requests tbody tr td .mono").first().innerText()).trim();
  await tryFilters(page, "the office's certificates", "#cert-filter", "#cert-requests", [
    { name: "USCC", set: (p) => p.locator("#c-uscc").fill(uscc.slice(0, 10).toLowerCase()), matches: (r) => r.includes(uscc) },
    { name: "status", set: (p) => p.locator("#c-status").selectOption({ label: "有效" }), matches: (r) => r.includes("有效") },
  ], (p) => p.locator("#c-uscc").fill("Z"));
  await fitsPhone(page, "the office's certificates");
  await shot(page, "auth-10b-certificates-filtered");
  // The administrator accepts the enterprise's profile.
  await page.getByRole("button", { name: /退出/ }).click();
  await page.waitForURL(/\/login/);
  await signIn(page, AUTH, "admin");
  await page.goto(AUTH + "/profiles");
  check((await page.locator("main").innerText()).includes("张鑫"), "the proposal is at the office");
  await shot(page, "auth-14-profiles");
  await page.getByRole("button", { name: "确认变更" }).click();
  await page.waitForURL(/msg=flash.decided/);
  check(alerts.length === 0, `no script errors: ${alerts}`);
  await ctx.close();
  return state;
}

async function enterpriseDeleted() {
  const ENT = env("ENT_URL");
  const state = JSON.parse(env("STATE"));
  const { ctx, page, alerts } = await open();
  await entSignIn(page, ENT);
  await page.goto(ENT + "/licence-requests?kind=delete");
  check((await page.locator("#licence-requests").innerText()).includes("审核通过"), "审核通过 shows on the enterprise");
  await shot(page, "ent-23-deletion-approved");
  await page.goto(ENT + "/licences");
  check((await page.locator("main").innerText()).includes("已删证"), "the licence shows as deleted");
  await shot(page, "ent-24-licence-deleted");
  // Its own page says so too: the signature is good, the licence may not be used, and
  // how old the office's word on it is.
  await page.goto(`${ENT}/licences/${state.licence_no}`);
  const verdict = await page.locator("#licence-check").innerText();
  check(verdict.includes("已删证") && !verdict.includes("验证通过"), `the licence page says deleted: ${verdict}`);
  check((await page.locator("#licence-standing").innerText()).includes("状态截至"), "the standing's age is shown");
  check((await page.locator("#licence-form .lf-stamp").innerText()).includes("已删证"), "the form is stamped deleted");
  await shot(page, "ent-24b-licence-page-deleted");
  const [pdfDownload] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "下载电子许可证（PDF）" }).click(),
  ]);
  const deletedPdf = join(mkdtempSync(join(tmpdir(), "exlic-dl-")), "deleted.pdf");
  await pdfDownload.saveAs(deletedPdf);
  // And the application's row in 许可证申请 says so beside 已发证, with codes by name.
  await page.goto(ENT + "/applications");
  const list = await page.locator("main").innerText();
  check(list.includes("已删证") && list.includes("一般贸易") && !list.includes("general"), `the application list: ${list}`);
  await page.goto(ENT + "/directory");
  check((await page.locator("#contacts").innerText()).includes("010-65197414"), "the directory arrived");
  await shot(page, "ent-25-directory");
  await page.goto(ENT + "/guides");
  check((await page.locator("main").innerText()).includes("出口许可证申领流程"), "the guides arrived");
  await shot(page, "ent-26-guides");
  for (let i = 0; ; i++) {
    await page.goto(ENT + "/profile");
    if ((await page.locator("#profile-status").innerText()).includes("已确认")) break;
    check(i < 60, "the office's acceptance reaches the enterprise");
    await page.waitForTimeout(1000);
  }
  await shot(page, "ent-27-profile-accepted");
  // 审计记录: every change this walk made, by whom, in Chinese.
  await page.goto(ENT + "/audit");
  const audit = await page.locator("#audit").innerText();
  check(audit.includes("保存并盖章") && audit.includes("完成") && !/POST|done|sign-in/.test(audit), `the operators' audit trail in Chinese: ${audit.slice(0, 300)}`);
  await shot(page, "ent-28-audit");
  await tryFilters(page, "the operators' audit trail", "#audit-filter", "#audit", [
    { name: "action", set: (p) => p.locator("#a-action").selectOption({ label: "保存并盖章" }), matches: (r) => r.includes("保存并盖章") },
  ], (p) => p.locator("#a-to").fill("2001-01-01"));
  check(alerts.length === 0, `no script errors: ${alerts}`);
  await ctx.close();
  return { ...state, deleted_pdf: deletedPdf };
}

async function customsCheck() {
  const CUSTOMS = env("CUSTOMS_URL");
  const state = JSON.parse(env("STATE"));
  const { ctx, page, alerts } = await open();
  await page.goto(CUSTOMS + "/");
  check(await page.getByRole("heading", { name: "登录" }).isVisible(), "customs asks who is there");
  await shot(page, "customs-01-login");
  await page.getByLabel("用户名").fill("officer");
  await page.getByLabel("密码").fill(env("STAFF_PASSWORD"));
  await page.getByRole("button", { name: "登录" }).click();
  await page.waitForURL(CUSTOMS + "/");
  const status = await page.locator("#customs-status").innerText();
  check(status.includes("3700") && status.includes("状态截至"), `the status line names the district and the standing's age: ${status}`);
  await shot(page, "customs-02-check");
  // Untouched: the browser holds the form (every declaration field is required).
  await page.getByRole("button", { name: "仅核验" }).click();
  check((await page.locator("#outcome").count()) === 0, "an empty declaration is not sent");
  const fill = async (code, upload = "上传电子许可证文件", file = state.licence_file) => {
    await page.getByLabel("报关单号").fill("370020261000000001");
    await page.getByLabel("项号").fill("1");
    await page.getByLabel("出口商代码").fill("913502000728319549");
    await page.getByLabel("商品编码").fill(code);
    await page.getByLabel("数量", { exact: true }).fill("10");
    await page.getByLabel(upload).setInputFiles(file);
  };
  const photo = "或拍摄/上传许可证二维码图片";
  // A wrong commodity: refused, in Chinese, nothing reserved.
  await fill("1001990000");
  await page.getByRole("button", { name: "核验并预核扣" }).click();
  const refused = await page.locator("#outcome").innerText();
  const details = await page.locator("#outcome li").evaluateAll((ls) => ls.map((l) => l.title).join("; "));
  check(refused.includes("核验不通过") && refused.includes("商品编码与许可证不符"), `refused with its reason: ${refused} (${details})`);
  check(!/V\d\d|commodity|does not/.test(refused), `no rule ids or English in the Chinese reasons: ${refused}`);
  check(await page.getByLabel("报关单号").inputValue() === "370020261000000001", "the form keeps what was typed");
  await shot(page, "customs-03-refused");
  // A photo with no QR code in it: named, in Chinese, the form kept.
  await fill("2918140000", photo, { name: "blank.png", mimeType: "image/png", buffer: readFileSync(state.qr_png).subarray(0, 40) });
  await page.getByRole("button", { name: "核验并预核扣" }).click();
  const unreadable = await page.locator('[role="alert"]').innerText();
  check(unreadable.includes("二维码") && unreadable.includes("PNG"), `an unreadable photo is named: ${unreadable}`);
  // Right, from a screenshot of the e-licence page's QR code: checked and reserved (预核扣).
  await fill("2918140000", photo, state.qr_png);
  await page.getByRole("button", { name: "核验并预核扣" }).click();
  const passed = await page.locator("#outcome").innerText();
  check(passed.includes("核验通过，已预核扣") && passed.includes(state.licence_no) && passed.includes("1 / 1") && passed.includes("14.5 吨"), `passed and reserved: ${passed}`);
  await shot(page, "customs-04-reserved");
  // Cancelled: the ledger shows it, and the use is given back.
  await page.getByRole("button", { name: "撤销预核扣" }).click();
  await page.waitForURL(/\/licences\?no=/);
  const ledger = await page.locator("#ledger").innerText();
  check(ledger.includes("已撤销") && ledger.includes("0 / 1"), `the ledger: ${ledger}`);
  await shot(page, "customs-05-ledger");
  // On a phone the ledger and the list of held licences are cards, never cut off.
  await page.setViewportSize({ width: 375, height: 900 });
  const cut = await page.locator("#ledger table, #held").evaluateAll((ts) =>
    ts.filter((t) => t.scrollWidth > t.parentElement.clientWidth + 1).map((t) => t.id || "ledger"));
  check(cut.length === 0 && (await page.locator("#held").count()) === 1, `tables fit a phone: ${cut}`);
  await fitsPhone(page, "the customs ledger");
  await tryFilters(page, "the licences customs holds", "form.search", "#held", [
    { name: "licence number", set: (p) => p.locator("#l-no").fill(state.licence_no.slice(-5)), matches: (r) => r.includes(state.licence_no) },
  ], (p) => p.locator("#l-no").fill("000000000000"), CUSTOMS + "/licences");
  // The same screens in English.
  await page.getByRole("button", { name: "English" }).click();
  await page.goto(CUSTOMS + "/licences?no=" + state.licence_no);
  const en = await page.locator("main").innerText();
  check(en.includes("Usage ledger") && en.includes("Cancelled"), `the ledger in English: ${en}`);
  check(!/[\u4e00-\u9fff]/.test(en.replace(/柠檬酸|厦门[^\n]*|上海[^\n]*/g, "")), `no untranslated Chinese label: ${en}`);
  await shot(page, "customs-06-ledger-en");
  await page.goto(CUSTOMS + "/");
  await shot(page, "customs-07-check-en");
  await page.goto(CUSTOMS + "/audit");
  await shot(page, "customs-08-audit-en");
  check(alerts.length === 0, `no script errors: ${alerts}`);
  await ctx.close();
  return state;
}

// Two devices of one enterprise changed 合同号 while apart (tests/tests/conflict.rs sets
// it up across real nodes): this device's application page shows both values, which one
// is its own, in words; 保留此值 keeps the other device's, and the panel is gone.
async function enterpriseConflict() {
  const ENT = env("ENT_URL");
  const state = JSON.parse(env("STATE"));
  const { ctx, page, alerts } = await open();
  await entSignIn(page, ENT, `/applications/${state.id}`);
  const panel = await page.locator("#conflicts").innerText();
  check(panel.includes("合同号") && panel.includes(state.mine) && panel.includes(state.theirs), `both values under the field's label: ${panel}`);
  check(panel.includes("本机") && panel.includes("另一台设备") && !panel.includes("contract_no"), `who wrote each, in words: ${panel}`);
  await fitsPhone(page, "the conflict panel");
  await shot(page, "ent-29-conflict");
  await page.locator(`#conflicts li:has-text("${state.theirs}")`).getByRole("button", { name: /保留此值/ }).click();
  await page.waitForLoadState();
  check((await page.locator("#conflicts").count()) === 0, "the conflict is settled");
  check((await page.locator("main").innerText()).includes(state.theirs), "the kept value is shown");
  await shot(page, "ent-30-conflict-resolved");
  check(alerts.length === 0, `no script errors: ${alerts}`);
  await ctx.close();
  return state;
}

// The bureau's supervisors' screen: sign-in, the national view with the duplicate-number
// alarm by its name, the search untouched, filled and with something that is no code.
async function bureauNational() {
  const state = JSON.parse(env("STATE"));
  const B = state.bureau;
  const { ctx, page, alerts } = await open();
  await page.goto(B + "/");
  check(await page.getByRole("heading", { name: "登录" }).isVisible(), "the bureau asks who is there");
  await page.getByLabel("用户名").fill("sun");
  await page.getByLabel("密码").fill(state.password);
  await page.getByRole("button", { name: "登录" }).click();
  await page.waitForURL(B + "/");
  const alarms = await page.locator("#alarms").innerText();
  check(alarms.includes("许可证号重复") && alarms.includes(state.licence_no), `the duplicate number's alarm by its name: ${alarms}`);
  const offices = await page.locator("#offices").innerText();
  check(offices.includes("跟踪中") && !offices.includes("None"), `both offices followed: ${offices}`);
  check((await page.locator("#daily svg rect").count()) === 30, "a bar for each of 30 days");
  for (const id of ["#b-no", "#b-ent", "#b-com"]) check((await page.locator(id).inputValue()) === "", `${id} starts empty`);
  await fitsPhone(page, "the national view");
  await shot(page, "bureau-01-national");
  // Untouched: nothing asked, nothing refused.
  await page.locator("#search").getByRole("button", { name: "查询" }).click();
  await page.waitForLoadState();
  check((await page.locator("#results, #search-error").count()) === 0, "an empty search asks nothing");
  // By number: the licence in both offices.
  await page.getByLabel("许可证号").fill(state.licence_no);
  await page.locator("#search").getByRole("button", { name: "查询" }).click();
  await page.waitForLoadState();
  check((await page.locator("#results tbody tr").count()) === 2, "one row per office that logged it");
  await fitsPhone(page, "the search results");
  await shot(page, "bureau-02-search");
  // Something that is no code: named, in Chinese.
  await page.getByLabel("许可证号").fill("");
  await page.getByLabel("企业统一社会信用代码（开头）").fill("91'--");
  await page.locator("#search").getByRole("button", { name: "查询" }).click();
  await page.waitForLoadState();
  const err = await page.locator("#search-error").innerText();
  check(err.startsWith("企业统一社会信用代码（开头）：") && !/enterprise|[A-Z]\d\d/.test(err), `the field named in Chinese: ${err}`);
  check((await page.getByLabel("企业统一社会信用代码（开头）").inputValue()) === "91'--", "what was typed stays");
  await shot(page, "bureau-03-bad-search");
  check(alerts.length === 0, `no script errors: ${alerts}`);
  await ctx.close();
  return {};
}

// A replicated office's administrator adds a replica on a follower's overview page: the
// form untouched (held by the browser), a replica that votes already (refused, naming the
// field and the rule in Chinese), then the new one; the leader's page lists it as a voter.
async function authorityReplicas() {
  const state = JSON.parse(env("STATE"));
  const { ctx, page, alerts } = await open();
  const signIn = async (A) => {
    await page.goto(A + "/login");
    await page.getByLabel("用户名").fill("admin");
    await page.getByLabel("密码").fill(env("STAFF_PASSWORD"));
    await page.getByRole("button", { name: "登录" }).click();
    await page.waitForURL(A + "/");
  };
  await signIn(state.via);
  const card = page.locator("#cluster");
  check((await card.locator("#replicas tbody tr").count()) === 3, "three replicas listed");
  for (const id of ["#r-id", "#r-addr"]) check((await page.locator(id).inputValue()) === "", `${id} starts empty`);
  await fitsPhone(page, "the replicas card");
  await shot(page, "replicas-01-overview");
  const add = page.locator("#replica-add").getByRole("button", { name: "添加副本" });
  // Untouched: the browser holds the form (both fields are required).
  await add.click();
  check(page.url() === state.via + "/", `an empty form is not sent: ${page.url()}`);
  // A replica that votes already: refused, naming the field and the rule.
  await page.getByLabel("副本编号").fill("2");
  await page.getByLabel("副本间地址").fill(state.addr);
  await add.click();
  await page.waitForLoadState();
  const refused = await page.locator("main").innerText();
  check(refused.includes("副本编号") && refused.includes("已是投票成员"), `refused by field and rule: ${refused}`);
  await shot(page, "replicas-02-refused");
  // The new replica: added once it has caught up, then a voter.
  await page.goto(state.via + "/");
  await page.getByLabel("副本编号").fill(String(state.id));
  await page.getByLabel("副本间地址").fill(state.addr);
  await add.click();
  await page.waitForURL(/msg=flash\.replicas_changed/, { timeout: 150000 });
  check((await page.locator(".flash").innerText()).includes("副本已变更"), "the change is confirmed");
  await signIn(state.leader);
  const row = await page.locator(`#replica-${state.id}`).innerText();
  check(!row.includes("学习者") && row.includes(state.addr), `the leader lists the new voter: ${row}`);
  await fitsPhone(page, "the leader's replicas");
  await shot(page, "replicas-03-added");
  // The same card in English fits a phone too.
  await page.getByRole("button", { name: "English" }).click();
  await page.waitForLoadState();
  await fitsPhone(page, "the leader's replicas in English");
  check(alerts.length === 0, `no script errors: ${alerts}`);
  await ctx.close();
  return {};
}

const phases = {
  "enterprise-draft": enterpriseDraft,
  "authority-review": authorityReview,
  "enterprise-licence": enterpriseLicence,
  "customs-check": customsCheck,
  "authority-deletion": authorityDeletion,
  "enterprise-deleted": enterpriseDeleted,
  "enterprise-conflict": enterpriseConflict,
  "bureau-national": bureauNational,
  "authority-replicas": authorityReplicas,
};
const run = phases[process.argv[2]];
if (!run) {
  console.error(`usage: node e2e.mjs ${Object.keys(phases).join("|")}`);
  process.exit(2);
}
run().then(
  (r) => { console.log(JSON.stringify(r)); process.exit(0); },
  async (e) => {
    console.error(e.stack || String(e));
    if (lastPage) {
      console.error(`at ${lastPage.url()}`);
      await lastPage.screenshot({ path: join(SHOTS, `FAILED-${process.argv[2]}.png`), fullPage: true }).catch(() => {});
    }
    process.exit(1);
  },
);
