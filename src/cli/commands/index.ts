// Every subcommand, one file each.
import { createCommand } from './create.js';
import { eventsCommand } from './events.js';
import { explainCommand } from './explain.js';
import { imageCommand } from './image.js';
import { execCommand } from './exec.js';
import { featuresCommand } from './features.js';
import { pauseCommand, resumeCommand } from './pause.js';
import { psCommand } from './ps.js';
import { updateCommand } from './update.js';
import { deleteCommand } from './delete.js';
import { killCommand } from './kill.js';
import { listCommand } from './list.js';
import { runCommand } from './run.js';
import { specCommand } from './spec.js';
import { startCommand } from './start.js';
import { stateCommand } from './state.js';
import { networkCommand } from './network.js';
import { volumeCommand } from './volume.js';

export const commands = [
  specCommand,
  createCommand,
  startCommand,
  runCommand,
  stateCommand,
  listCommand,
  killCommand,
  deleteCommand,
  execCommand,
  featuresCommand,
  pauseCommand,
  resumeCommand,
  psCommand,
  updateCommand,
  eventsCommand,
  explainCommand,
  networkCommand,
  volumeCommand,
  imageCommand,
];
