// The clients smoke (smoke.ts) under the PicJS release of releases.ts `pic-0.13`.
import { release } from './releases.ts';
import { smoke } from './smoke.ts';

smoke(release('pic-0.13'));
