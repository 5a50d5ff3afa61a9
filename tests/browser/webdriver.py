"""tests/browser/webdriver.py - a small W3C WebDriver client (Python 3 standard library
only) for Debian's chromium + chromium-driver, used by the browser tests. No npm, no
Selenium: urllib against a chromedriver that the test starts on 127.0.0.1 with a free
port and stops at the end.

Chromium runs headless with a fresh profile and with everything that would reach the
network on its own turned off; 'goog:loggingPrefs' keeps the console (browser log) and
the network events (performance log) so that tests can assert no console error and no
request outside the page's origin.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ELEMENT = 'element-6066-11e4-a52e-4f735466cecf'


class WebDriverError(Exception):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def find_browser():
    """(chromium, chromedriver) paths, or raise with what is missing."""
    chromium = shutil.which('chromium') or shutil.which('chromium-browser')
    driver = shutil.which('chromedriver')
    missing = [n for n, p in (('chromium', chromium), ('chromedriver (chromium-driver)', driver)) if not p]
    if missing:
        raise FileNotFoundError('not installed: ' + ', '.join(missing) + ' (scripts/setup.sh installs them)')
    return chromium, driver


class Browser:
    def __init__(self, width=1280, height=900):
        chromium, driver = find_browser()
        self.profile = tempfile.mkdtemp(prefix='assay-chromium-')
        self.port = free_port()
        self.log = open(os.path.join(self.profile, 'chromedriver.log'), 'w')
        self.proc = subprocess.Popen([driver, '--port=%d' % self.port, '--allowed-ips=127.0.0.1'],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.base = 'http://127.0.0.1:%d' % self.port
        deadline = time.time() + 20
        while True:
            try:
                if self._call('GET', '/status').get('ready'):
                    break
            except (OSError, WebDriverError):
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                self.close()
                raise WebDriverError('chromedriver did not start')
            time.sleep(0.05)
        args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                '--disable-background-networking', '--disable-component-update', '--disable-sync',
                '--disable-default-apps', '--disable-extensions', '--no-default-browser-check',
                '--disable-dev-shm-usage', '--window-size=%d,%d' % (width, height),
                '--user-data-dir=' + os.path.join(self.profile, 'profile')]
        caps = {'capabilities': {'alwaysMatch': {
            'browserName': 'chrome',
            'goog:chromeOptions': {'binary': chromium, 'args': args},
            'goog:loggingPrefs': {'browser': 'ALL', 'performance': 'ALL'},
            'unhandledPromptBehavior': 'ignore',
        }}}
        try:
            v = self._call('POST', '/session', caps)
        except Exception:
            self.close()
            raise
        self.sid = v['sessionId']
        self.version = v.get('capabilities', {}).get('browserVersion', '?')

    def _call(self, method, path, body=None, timeout=60):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                v = json.loads(r.read().decode())
        except urllib.error.HTTPError as e:
            try:
                v = json.loads(e.read().decode())
            except ValueError:
                raise WebDriverError('%s %s: HTTP %d' % (method, path, e.code))
            val = v.get('value') or {}
            raise WebDriverError('%s %s: %s: %s' % (method, path, val.get('error'), val.get('message', '')[:300]))
        return v.get('value')

    def s(self, method, path, body=None):
        return self._call(method, '/session/' + self.sid + path, body)

    # ---- navigation and the DOM ---------------------------------------------------------
    def get(self, url):
        self.s('POST', '/url', {'url': url})

    def url(self):
        return self.s('GET', '/url')

    def js(self, script, *args):
        return self.s('POST', '/execute/sync', {'script': script, 'args': list(args)})

    def find(self, css):
        return self.s('POST', '/element', {'using': 'css selector', 'value': css})[ELEMENT]

    def find_all(self, css):
        return [e[ELEMENT] for e in self.s('POST', '/elements', {'using': 'css selector', 'value': css})]

    def click(self, css):
        self.s('POST', '/element/%s/click' % self.find(css), {})

    def text(self, css):
        return self.s('GET', '/element/%s/text' % self.find(css))

    def wait(self, script, what, timeout=15, *args):
        """Poll a JavaScript expression (a function body returning a value) until truthy."""
        deadline = time.time() + timeout
        while True:
            v = self.js(script, *args)
            if v:
                return v
            if time.time() > deadline:
                raise WebDriverError('timed out waiting for ' + what)
            time.sleep(0.05)

    def alert_text(self):
        """The text of an open alert, or None."""
        try:
            return self.s('GET', '/alert/text')
        except WebDriverError as e:
            if 'no such alert' in str(e):
                return None
            raise

    def screenshot(self, path):
        png = base64.b64decode(self.s('GET', '/screenshot'))
        with open(path, 'wb') as f:
            f.write(png)
        return len(png)

    def full_screenshot(self, path):
        """Resize the window to the page's full height first, then screenshot."""
        self.s('POST', '/window/rect', {'width': 1280, 'height': 900})
        h = self.js('return Math.min(6000, document.documentElement.scrollHeight)')
        self.s('POST', '/window/rect', {'width': 1280, 'height': int(h) + 120})
        return self.screenshot(path)

    # ---- logs -----------------------------------------------------------------------
    def logs(self, kind):
        return self.s('POST', '/se/log', {'type': kind})

    def console_errors(self):
        return [e for e in self.logs('browser') if e.get('level') in ('SEVERE', 'ERROR')]

    def requests(self):
        """URLs the page asked the network for (Network.requestWillBeSent), in order."""
        out = []
        for e in self.logs('performance'):
            try:
                m = json.loads(e['message'])['message']
            except (KeyError, ValueError):
                continue
            if m.get('method') == 'Network.requestWillBeSent':
                out.append(m['params']['request']['url'])
        return out

    def close(self):
        try:
            if getattr(self, 'sid', None):
                self._call('DELETE', '/session/' + self.sid, timeout=20)
        except Exception:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
