/* Placeholder for the Explore page's script (issue 24), written on the JavaScript side (branch wt-explore-js):
   the page loads it, so the build's link check needs the file. Without it the page shows the build's own answers. */
