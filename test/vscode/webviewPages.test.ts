// The webview pages in a real browser: the SAS panel's (sasPanelPage.ts) and a conversation's
// (conversationPage.ts), in one test process on one chromium (test/helpers/chromium.ts), each
// test on its page loaded afresh in the one tab they share.

import { after } from 'node:test';
import { closeSharedChromium } from '../helpers/chromium.js';
import './sasPanelPage.js';
import './conversationPage.js';

after(closeSharedChromium);
