// A minimal browser for login flows: fetch with redirects followed by hand and a cookie jar, so
// a test checks every hop between Palisade and an identity provider.

'use strict';

const MAX_REDIRECTS = 20;

class Browser {
  constructor() {
    // Cookie name → value, for 127.0.0.1 only, which is the only host the tests use.
    this.cookies = new Map();
  }

  /** Sends one request without following redirects and keeps the cookies it sets. */
  async request(url, { method = 'GET', form } = {}) {
    const headers = {};
    if (this.cookies.size > 0) {
      headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    }
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const response = await fetch(url, { method, headers, body, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const separator = pair.indexOf('=');
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) {
        this.cookies.delete(name);
      } else {
        this.cookies.set(name, value);
      }
    }
    return response;
  }

  /**
   * Starts a login at `loginUrl` (Palisade's `/_login/<strategy>`), logs in at the provider
   * with `login` and `password` when it prompts for them, consents when it prompts for consent, and returns the URL the
   * provider redirects back to, without requesting it.
   */
  async loginAtProvider(loginUrl, { login, password }) {
    const callbackPrefix = new URL(loginUrl);
    callbackPrefix.search = '';
    let response = await this.request(loginUrl);

    for (let hop = 0; hop < MAX_REDIRECTS; hop += 1) {
      if (response.status >= 300 && response.status < 400) {
        const location = new URL(response.headers.get('location'), response.url).toString();
        if (location.startsWith(callbackPrefix.toString())) {
          return location;
        }
        response = await this.request(location);
        continue;
      }
      if (response.status !== 200) {
        throw new Error(`HTTP ${response.status} at ${response.url}: ${await response.text()}`);
      }

      // An interaction page of the test provider: {uid, prompt}.
      const page = await response.json();
      const base = new URL(`/interaction/${page.uid}`, response.url);
      if (page.prompt === 'login') {
        response = await this.request(`${base}/login`, { method: 'POST', form: { login, password } });
      } else if (page.prompt === 'consent') {
        response = await this.request(`${base}/confirm`, { method: 'POST', form: {} });
      } else {
        throw new Error(`unexpected prompt ${page.prompt} at ${response.url}`);
      }
    }
    throw new Error(`more than ${MAX_REDIRECTS} redirects from ${loginUrl}`);
  }
}

module.exports = { Browser };
