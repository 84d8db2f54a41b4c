import { chromium } from 'playwright-core';
const url = process.argv[2];
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless','--no-sandbox','--disable-gpu','--disable-background-networking','--disable-component-update','--disable-sync'] });
for (const [lang, w] of [['zh', 375], ['en', 1280]]) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: w, height: 900 } });
  await ctx.addCookies([{ name: 'exlic_lang', value: lang, url }]);
  const p = await ctx.newPage();
  await p.goto(url + '/login');
  await p.getByLabel(lang === 'zh' ? '用户名' : 'Login').fill('zhou').catch(async () => { await p.locator('input[name=login]').fill('zhou'); });
  await p.locator('input[name=password]').fill('demo-password-2468');
  await p.getByRole('button', { name: lang === 'zh' ? '登录' : 'Sign in' }).click();
  await p.waitForLoadState('networkidle');
  await p.screenshot({ path: `/tmp/customs-${lang}-${w}.png`, fullPage: true });
  console.log(lang, await p.locator('#customs-status').innerText());
  await ctx.close();
}
await browser.close();
