// The README the .vsix ships (scripts/package-vsix.mjs), made from README.vscode.md, which is
// written for VS Code users. VS Code shows an extension's README with images from https: only (a
// relative path or a data: URL shows as a broken image), so each screenshot
// (`![what](media/screenshots/NAME.png)`, a paragraph of its own) links where `imagesUrl` serves
// the repository's files, or without one its paragraph is left out rather than shown broken.
// Written here rather than left to vsce's --baseImagesUrl: a function of the text alone, so the
// tests check both READMEs without packaging twice, and vsce ships the text as it is given.

const SCREENSHOT = /!\[[^\]]*\]\(media\/screenshots\/[\w-]+\.png\)/g;
const SCREENSHOT_PARAGRAPH = new RegExp(`\\n${SCREENSHOT.source}\\n`, 'g');

/** `readme` as the .vsix ships it: screenshots linked under `imagesUrl` (https://…/), or left out without it. */
export function vsixReadme(readme, imagesUrl) {
  if (imagesUrl === undefined) return readme.replace(SCREENSHOT_PARAGRAPH, '');
  return readme.replace(SCREENSHOT, (image) => image.replace('](media/', `](${imagesUrl}media/`));
}
