/** `readme` as the .vsix ships it: screenshots linked under `imagesUrl` (https://…/), or left out without it. */
export function vsixReadme(readme: string, imagesUrl: string | undefined): string;
